/**
 * Whole-model images/s of an export loaded with each binary HourGlass block as one PackedBlock
 * (the native engine writes the three branches into their concat and adds the residual in its
 * epilogue) against the same export with its Concatenate and Add layers, and against the float
 * model (the reference HourGlass by default), interleaved round by round in one process.
 *
 *   node --import tsx bench/fused-block.ts [--backend native|wasm] [--threads 1] [--engine native|wasm|js] [--reps 9]
 *                                          [--batches 1,32] [--config configs/bench/hourglass-ref.yaml]
 */
import { fusionTable } from './fusion-table.ts';

await fusionTable('blocks', 'native');
