/** scripts/long-functions.ts: the "no function over ~60 lines" rule, held on src/ by CI. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const check = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/long-functions.ts', ...args], { cwd: ROOT, encoding: 'utf8' });

describe('long-functions', () => {
  it('src/ has no function over 60 lines', () => {
    const r = check('60', 'src');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^0 function\(s\) over 60 lines$/m);
  });

  it('finds a 62-line function and a long arrow, and exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'long-fn-'));
    const body = Array.from({ length: 60 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    writeFileSync(join(dir, 'a.ts'), `export function big(): void {\n${body}\n}\nexport const small = () => 1;\nexport const arrow = () => {\n${body}\n};\n`);
    const r = check('60', dir);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /  62  .*a\.ts:1 big/);
    assert.match(r.stdout, /  62  .*a\.ts:\d+ arrow/);
    assert.match(r.stdout, /^2 function\(s\) over 60 lines$/m);
  });
});
