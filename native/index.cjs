// Loads the addon, or says why it cannot: the reason is what `bnn-ablate backends` prints.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { findPrefix } = require('./dnnl-paths.cjs');
const { sourceHash } = require('./source-hash.cjs');

const BINARY = path.join(__dirname, 'build', 'Release', 'bnn_onednn.node');
const STATUS = path.join(__dirname, 'build-status.json');

function statusReason() {
  try {
    const s = JSON.parse(fs.readFileSync(STATUS, 'utf8'));
    if (s && s.ok === false && typeof s.reason === 'string') return s.reason;
  } catch {
    // No status: never built here.
  }
  if (!findPrefix()) return 'oneDNN not found: apt-get install libdnnl-dev (Homebrew, conda: onednn), then npm rebuild bnn-ablate-native';
  return 'native addon not built: run npm rebuild bnn-ablate-native (or node native/build.cjs)';
}

/**
 * { ok: true, addon } or { ok: false, reason }. `threads` goes to OMP_NUM_THREADS first, so that
 * OpenMP (which reads it once, when libgomp loads with the addon) starts with the right pool.
 */
/** The reason a present build must not be used: built from other sources than these (or null). */
function staleReason() {
  let built;
  try {
    built = JSON.parse(fs.readFileSync(STATUS, 'utf8')).sources;
  } catch {
    return null;
  }
  if (typeof built !== 'string' || built === sourceHash()) return null;
  return 'native addon is out of date: native/src changed since it was built; run npm rebuild bnn-ablate-native (or node native/build.cjs)';
}

function load(threads) {
  if (!fs.existsSync(BINARY)) return { ok: false, reason: statusReason() };
  const stale = staleReason();
  if (stale) return { ok: false, reason: stale };
  if (threads !== undefined) process.env.OMP_NUM_THREADS = String(threads);
  // Idle OpenMP threads sleep instead of spinning: between two oneDNN calls JavaScript runs for
  // a while, and on a shared or oversubscribed machine spinning threads steal the cores the
  // working ones need (measured here under load: 2 threads 4.5x slower than 1 with spinning,
  // on par with passive). OMP_WAIT_POLICY=active in the environment restores spinning.
  process.env.OMP_WAIT_POLICY ??= 'passive';
  try {
    return { ok: true, addon: require(BINARY) };
  } catch (err) {
    const line = String((err && err.message) || err).split('\n')[0].slice(0, 200);
    return { ok: false, reason: `native addon failed to load: ${line}` };
  }
}

module.exports = { load, BINARY };
