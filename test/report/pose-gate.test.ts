/**
 * The CI pose gate can fail: the gate's own study (experiments/gate-lsp.yaml, exactly as .ci/run
 * trains it) on a broken build of the data, where the LSPET training joints are shuffled against
 * their images (each annotation moved to another photograph), must make `check` against the
 * committed baselines/ci.json exit 1 because the real-valued row fell below its floor, not merely
 * because runs are missing. One run (real-valued, seed 0) keeps the test short; the other rows
 * then fail as "no finished run", which this test does not count on.
 *
 * Needs data/lspet (research-use data, never committed: `bnn-ablate data unpack ../shared/data`);
 * skipped with the reason where it is absent.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO, cli } from './gate-cli.ts';

const LSPET = join(REPO, 'data', 'lspet');
const skip = existsSync(join(LSPET, 'images')) ? false : `${LSPET} is absent (run: bnn-ablate data unpack ../shared/data)`;

interface Coco { images: { id: number }[]; annotations: { image_id: number }[] }

/** The training annotations with image_id rotated by a deterministic permutation (a derangement). */
function shuffledAgainstImages(coco: Coco): Coco {
  const ids = coco.annotations.map((a) => a.image_id);
  // A fixed stride coprime with any length near 9,000 moves every annotation to another photo.
  const n = ids.length, stride = 7919;
  return { ...coco, annotations: coco.annotations.map((a, i) => ({ ...a, image_id: ids[(i * stride + 1) % n]! })) };
}


test('pose gate: joints shuffled against images make check exit 1 on the real-valued row', { skip }, () => {
  const root = mkdtempSync(join(tmpdir(), 'bnn-pose-gate-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  // The gate reads data/lspet relative to the working directory: a broken copy there.
  const data = join(root, 'data', 'lspet');
  mkdirSync(join(data, 'annotations'), { recursive: true });
  symlinkSync(join(LSPET, 'images'), join(data, 'images'));
  const train = JSON.parse(readFileSync(join(LSPET, 'annotations', 'lspet_train.json'), 'utf8')) as Coco;
  writeFileSync(join(data, 'annotations', 'lspet_train.json'), JSON.stringify(shuffledAgainstImages(train)));
  writeFileSync(join(data, 'annotations', 'lspet_val.json'), readFileSync(join(LSPET, 'annotations', 'lspet_val.json')));

  const results = join(root, 'results');
  const run = cli(['run', join(REPO, 'experiments', 'gate-lsp.yaml'), '--only', 'model.binary=false,seed=0', '--results', results, '--jobs', '1', '--threads', '1'], root);
  assert.equal(run.code, 0, run.out);
  const check = cli(['check', join(results, 'gate-lsp'), '--baseline', join(REPO, 'baselines', 'ci.json')], root);
  assert.equal(check.code, 1, check.out);
  // The breakage itself fails the gate: the real-valued row is below its floor (a measured mean,
  // not a missing run).
  assert.match(check.out, /binary=false: Mean[^\n]*\*\*FAIL\*\*[^\n]*< floor/);
});
