/**
 * The CI classification gate on photographs can fail: the gate's own study
 * (experiments/gate-cifar10.yaml, exactly as .ci/run trains it) on a broken build of the data,
 * where every training image of CIFAR-10 is filed under a wrong class (labels moved to other
 * images), must make `check` against the committed baselines/ci.json exit 1 because the
 * real-valued row fell below its floor, not merely because runs are missing. One run
 * (real-valued, seed 0) keeps the test short; the other rows then fail as "no finished run",
 * which this test does not count on.
 *
 * Needs data/cifar10 (research-use data, never committed: `bnn-ablate data unpack ../shared/data`);
 * skipped with the reason where it is absent.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO, cli } from './gate-cli.ts';
import { parse as parseYaml } from 'yaml';

const CIFAR = join(REPO, 'data', 'cifar10');
const GATE = join(REPO, 'experiments', 'gate-cifar10.yaml');
const skip = existsSync(join(CIFAR, 'train')) ? false : `${CIFAR} is absent (run: bnn-ablate data unpack ../shared/data)`;

/**
 * A training folder with `perClass` images of each class, every one filed under another class:
 * image i of class c goes to class (c + 1 + i mod (k − 1)) mod k, never c, and evenly over the rest.
 * The loader takes files round-robin over sorted classes, so the gate's train_size takes them all.
 */
function mislabelledTrain(from: string, to: string, perClass: number): void {
  const classes = readdirSync(from).sort();
  const k = classes.length;
  for (const c of classes) mkdirSync(join(to, c), { recursive: true });
  classes.forEach((c, ci) => {
    readdirSync(join(from, c)).sort().slice(0, perClass).forEach((file, i) => {
      const wrong = classes[(ci + 1 + (i % (k - 1))) % k]!;
      copyFileSync(join(from, c, file), join(to, wrong, `${c}-${file}`));
    });
  });
}


test('classification gate: labels moved to other images make check exit 1 on the real-valued row', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'bnn-cls-gate-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  // The gate reads data/cifar10 relative to the working directory: a broken copy there.
  const trainSize = (parseYaml(readFileSync(GATE, 'utf8')) as { set: Record<string, number> }).set['data.train_size']!;
  const data = join(root, 'data', 'cifar10');
  mislabelledTrain(join(CIFAR, 'train'), join(data, 'train'), trainSize / 10);
  symlinkSync(join(CIFAR, 'test'), join(data, 'test'));   // the test split unchanged

  const results = join(root, 'results');
  const run = cli(['run', GATE, '--only', 'model.binary=false,seed=0', '--results', results, '--jobs', '1', '--threads', '1'], root);
  assert.equal(run.code, 0, run.out);
  const check = cli(['check', join(results, 'gate-cifar10'), '--baseline', join(REPO, 'baselines', 'ci.json')], root);
  assert.equal(check.code, 1, check.out);
  // The breakage itself fails the gate: the real-valued row is below its floor (a measured mean,
  // not a missing run).
  assert.match(check.out, /binary=false: top1[^\n]*\*\*FAIL\*\*[^\n]*< floor/);
});
