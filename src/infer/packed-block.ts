/**
 * PackedBlock: one binary HourGlass block of an export (fuse-blocks.ts rewrites the topology at
 * load), y = concat(o1, o2, o3) + shortcut with o1 = conv1(x), o2 = conv2(o1), o3 = conv3(o2),
 * each conv a PackedBinaryLayer held by the block. Inputs [x, shortcut], output [b, h, w, Σ filters].
 *
 * On the wasm heap (wasm and native backends) with an engine that has `convBlock` (native),
 * the engine writes each branch into its channel slice of the output with the residual added in
 * its epilogue: no Concatenate or Add pass, no intermediate tensors. Otherwise (the wasm and js
 * engines, other backends) the block runs its layers' own sequence: each branch as its
 * PackedBinaryLayer, then tf.concat and tf.add, the ops the Concatenate and Add layers run. The
 * same floats either way (test/infer/packed-block.test.ts, test/export/fuse.test.ts).
 */
import tf from '../tf.cjs';
import type { BinaryConvEngine } from './engine.ts';
import { onWasmHeap, PackedBinaryLayer, type PackedBinaryArgs } from './packed-layers.ts';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Parameters<tf.layers.Layer['call']>[1];

export interface PackedBlockArgs extends LayerArgs {
  /** The three chained convs' PackedBinaryLayer configs, names included. */
  branches: PackedBinaryArgs[];
  /** The Concatenate layer the block stands in for (the block takes the Add's name). */
  concat: string;
}

export class PackedBlock extends tf.layers.Layer {
  static className = 'PackedBlock';
  readonly branches: PackedBinaryLayer[];
  private readonly concat: string;

  constructor(args: PackedBlockArgs) {
    super(args);
    this.branches = args.branches.map((b) => new PackedBinaryLayer(b));
    this.concat = args.concat;
  }

  override build(): void {
    for (const b of this.branches) b.build();
    this.built = true;
  }

  /** The packed layer `name` of this block, or undefined. */
  branch(name: string): PackedBinaryLayer | undefined {
    return this.branches.find((b) => b.name === name);
  }

  setEngine(engine: BinaryConvEngine): void {
    for (const b of this.branches) b.setEngine(engine);
  }

  private get width(): number {
    return this.branches.reduce((a, b) => a + b.args.filters, 0);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const x = (inputShape as tf.Shape[])[0]!;
    return [x[0]!, x[1]!, x[2]!, this.width];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const [x, shortcut] = inputs as tf.Tensor[];
    const [n, h, w] = x!.shape as [number, number, number, number];
    const outShape = [n, h, w, this.width];
    const engine = this.branches[0]!.attachedEngine;
    if (engine?.convBlock !== undefined && shortcut!.shape.join() === outShape.join()) {
      const heap = onWasmHeap([x!, shortcut!], outShape);
      if (heap !== null) {
        engine.convBlock(heap.xs[0]!, this.branches[0]!.args.signAtZero, this.branches.map((b) => b.branch(n, h, w)), heap.xs[1]!, heap.y);
        return heap.out;
      }
    }
    return tf.tidy(() => {
      const outs: tf.Tensor[] = [];
      let y = x!;
      for (const b of this.branches) {
        y = b.call(y, kwargs);
        outs.push(y);
      }
      return tf.add(tf.concat(outs, -1), shortcut!);
    });
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    for (const b of this.branches) b.release();
    return super.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), concat: this.concat, branches: this.branches.map((b) => b.getConfig()) };
  }
}

let registered = false;

/** Registers PackedBlock with tfjs serialization (idempotent). */
export function registerPackedBlock(): void {
  if (registered) return;
  tf.serialization.registerClass(PackedBlock);
  registered = true;
}
