// Install script: builds the addon with node-gyp against the system oneDNN. It ALWAYS exits 0:
// the addon is optional, and a machine without oneDNN or a compiler must still install the
// package (then the wasm backend runs). What happened goes to build-status.json, which
// `bnn-ablate backends` reads to say why native is off and how to fix it.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { findPrefix } = require('./dnnl-paths.cjs');

const here = __dirname;
const { sourceHash } = require('./source-hash.cjs');
const STATUS = path.join(here, 'build-status.json');
const LOG = path.join(here, 'build.log');

function writeStatus(status) {
  const tmp = `${STATUS}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ ...status, at: new Date().toISOString() }, null, 2) + '\n');
  fs.renameSync(tmp, STATUS);
}

/** npm hands its bundled node-gyp to scripts; otherwise look next to this node's npm. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && fs.existsSync(fromNpm)) return fromNpm;
  const prefix = path.dirname(path.dirname(process.execPath));
  const bundled = path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return fs.existsSync(bundled) ? bundled : undefined;
}

/** Node's headers from this installation, so that no download is needed (offline machines). */
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [`--nodedir=${process.env.npm_config_nodedir}`];
  const prefix = path.dirname(path.dirname(process.execPath));
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

/** The first line of a failed build that says what went wrong. */
function firstError(output) {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  // A compiler's "file:line: error: ..." says more than make's or gyp's summary lines.
  const hit = lines.find((l) => /\berror:/.test(l)) ?? lines.find((l) => /\berror\b/i.test(l) && !l.startsWith('gyp ERR! stack'));
  return (hit ?? lines[0] ?? 'no output').slice(0, 200);
}

function main() {
  if (process.env.BNN_NATIVE_SKIP === '1') {
    return writeStatus({ ok: false, reason: 'native build skipped (BNN_NATIVE_SKIP=1)' });
  }
  if (!findPrefix()) {
    return writeStatus({ ok: false, reason: 'oneDNN not found: apt-get install libdnnl-dev (Homebrew, conda: onednn), then npm rebuild bnn-ablate-native' });
  }
  const gyp = nodeGyp();
  if (!gyp) return writeStatus({ ok: false, reason: 'node-gyp not found (it comes with npm)' });
  const r = spawnSync(process.execPath, [gyp, 'rebuild', ...nodedirArgs()], { cwd: here, encoding: 'utf8' });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  fs.writeFileSync(LOG, output);
  if (r.status !== 0) return writeStatus({ ok: false, reason: `native addon build failed: ${firstError(output)} (log: native/build.log)` });
  writeStatus({ ok: true, sources: sourceHash(here) });
}

try {
  main();
} catch (err) {
  try {
    writeStatus({ ok: false, reason: `native addon build failed: ${String(err && err.message).split('\n')[0]}` });
  } catch {
    // Nothing more to do: the loader reports a missing build.
  }
}
process.exit(0);
