// A fingerprint of the sources the addon is built from (binding.gyp and src/*): build.cjs records
// it in build-status.json, and index.cjs refuses a build whose sources have changed since (a
// `git pull` without `npm rebuild bnn-ablate-native`), which would otherwise fail mid-run on a
// function the JavaScript calls and the old binary lacks.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

function sourceHash(dir = __dirname) {
  const hash = crypto.createHash('sha256');
  const src = path.join(dir, 'src');
  const files = ['binding.gyp', ...fs.readdirSync(src).sort().map((f) => path.join('src', f))];
  for (const f of files) {
    hash.update(`${f}\0`);
    hash.update(fs.readFileSync(path.join(dir, f)));
  }
  return hash.digest('hex').slice(0, 16);
}

module.exports = { sourceHash };
