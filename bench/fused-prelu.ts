/**
 * Whole-model images/s of the export with each PReLU after a packed layer fused into the
 * engine's epilogue, against the same export with the PReLUs as separate layers and against the
 * float model (the reference HourGlass by default), interleaved round by round in one process.
 *
 *   node --import tsx bench/fused-prelu.ts [--backend wasm|native] [--threads 1] [--engine native|wasm|js] [--reps 9]
 *                                          [--batches 1,32] [--config configs/bench/hourglass-ref.yaml]
 */
import { fusionTable } from './fusion-table.ts';

await fusionTable('prelu', 'wasm');
