/**
 * tfjs's BatchNormalization layer with a fused training path. In training mode on cpu and wasm
 * the batch statistics, the normalization and the moving-average updates run as one kernel and
 * the backward pass as another (src/backend/bn-kernel.ts), instead of tf.moments + tf.batchNorm
 * and the ~20 full-size ops of their gradients. Same math, same weights, same config: inference,
 * other axes, center/scale off and other backends take the stock code path.
 *
 * It keeps the class name 'BatchNormalization' and is registered under it (layer-classes.ts), so saved models still
 * name the stock class (and load anywhere tfjs runs), while models loaded here get the fast path.
 */
import tf from '../tf.cjs';
import { batchNormTrain, hasFusedBatchNorm } from '../backend/fused.ts';

type BatchNormArgs = NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>;
type BatchNormLayer = ReturnType<typeof tf.layers.batchNormalization>;
type Kwargs = Parameters<tf.layers.Layer['call']>[1];

/** The fields of tfjs-layers' BatchNormalization that its typings mark private. */
interface BatchNormInternals {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable;
  beta: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

// The stock class from the serialization registry (tfjs-layers does not export it): building a
// throwaway instance to read its constructor would consume a layer name ('batch_normalization').
const registered = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization;
if (!registered) throw new Error('tfjs-layers registered no BatchNormalization class');
const StockBatchNormalization = registered[0] as unknown as new (args?: BatchNormArgs) => BatchNormLayer;

export class FastBatchNormalization extends StockBatchNormalization {
  static className = 'BatchNormalization';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as BatchNormInternals;
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    const lastAxis = self.axis === -1 || self.axis === x.rank - 1;
    if (kwargs?.training !== true || !lastAxis || !self.center || !self.scale || x.rank < 2 || !hasFusedBatchNorm()) {
      return super.call(inputs, kwargs);
    }
    return tf.tidy(() => {
      const r = batchNormTrain(x, self.gamma.read() as tf.Tensor1D, self.beta.read() as tf.Tensor1D,
        self.movingMean.read() as tf.Tensor1D, self.movingVariance.read() as tf.Tensor1D, self.epsilon, self.momentum);
      self.movingMean.write(r.movingMean);
      self.movingVariance.write(r.movingVariance);
      return r.y;
    });
  }
}

/** A batch-norm layer with the fused training path (drop-in for tf.layers.batchNormalization). */
export function batchNormalization(args?: BatchNormArgs): BatchNormLayer {
  return new FastBatchNormalization(args);
}
