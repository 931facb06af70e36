// Where oneDNN's headers and library are, for build.cjs and binding.gyp.
//   node dnnl-paths.cjs include  -> extra include directories (none for the system's /usr)
//   node dnnl-paths.cjs lib      -> extra -L/-rpath flags
// Looked up in DNNL_ROOT, CONDA_PREFIX, Homebrew and the system prefixes, first hit wins.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const SYSTEM = ['/usr', '/usr/local'];

function candidates() {
  const env = [process.env.DNNL_ROOT, process.env.CONDA_PREFIX].filter(Boolean);
  return [...env, '/opt/homebrew', ...SYSTEM];
}

/** The prefix whose include/ holds oneapi/dnnl/dnnl.hpp, or undefined. */
function findPrefix() {
  return candidates().find((p) => fs.existsSync(path.join(p, 'include', 'oneapi', 'dnnl', 'dnnl.hpp')));
}

module.exports = { findPrefix };

if (require.main === module) {
  const prefix = findPrefix();
  const extra = prefix !== undefined && !SYSTEM.includes(prefix);
  if (process.argv[2] === 'include' && extra) console.log(path.join(prefix, 'include'));
  if (process.argv[2] === 'lib' && extra) console.log(`-L${path.join(prefix, 'lib')} -Wl,-rpath,${path.join(prefix, 'lib')}`);
}
