'use strict';
// TensorFlow.js for every module under src/ (`import tf from '../tf.cjs'`; types in tf.d.cts).
// Why not `import * as tf from '@tensorflow/tfjs'`: for an ES module importing a CommonJS
// package, Node first scans the package for its export names with cjs-module-lexer, following
// every re-export: the tfjs umbrella re-exports several MB of bundles, and the scan took
// 0.4 s of each process's start (0.9 s against 0.5 s), most of it on a grid worker's critical
// path (issue 10). The scan cannot see through a variable, so this module's one export is the
// object itself, read at require() speed.
//
// Source maps are off while it loads: tsx turns them on for our TypeScript's stack traces, and
// then Node also reads and indexes the maps of tfjs's bundles (18 MB), another 0.1-0.3 s.
// Frames inside tfjs then show bundle positions; ours keep theirs. The require stays literal
// so that esbuild bundles tfjs (scripts/bundle.ts).
const maps = process.sourceMapsEnabled;
process.setSourceMapsEnabled(false);
let tf;
try {
  tf = require('@tensorflow/tfjs');
} finally {
  process.setSourceMapsEnabled(maps);
}
module.exports = tf;
