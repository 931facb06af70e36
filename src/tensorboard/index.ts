/** TensorBoard event files for runs (no tfjs import: the runner's parent process loads this). */
export { histogramOf, type Histogram } from './events.ts';
export { RunEvents, recordScalars } from './run-events.ts';
export { EventWriter, TB_DIR, eventFiles, pruneEventFiles, runLabel } from './writer.ts';
