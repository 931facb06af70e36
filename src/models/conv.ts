/**
 * tfjs's Conv2D layer, trained through the plain conv2d op instead of tf.fused.conv2d.
 *
 * tfjs-layers runs every 2-D conv as tf.fused.conv2d, whose gradient is a customGrad that always
 * computes dx, dW and db together. The tape cannot prune dx where nothing needs it, so the image
 * gradient of the HourGlass stem (7x7 stride 2, 3 input channels) was computed and thrown away
 * every step: 120 ms of the reference step on wasm. conv2d + add have registered per-input
 * gradients, which the tape prunes. Same weights, config and values; inference, other data
 * formats, dilations and fused activations keep the stock path. Registered under 'Conv2D'
 * (layer-classes.ts, when a model is built or loaded) so saved models still name the stock class.
 */
import tf from '../tf.cjs';

type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];
type Conv2DLayer = ReturnType<typeof tf.layers.conv2d>;
type Kwargs = Parameters<tf.layers.Layer['call']>[1];

/** The fields of tfjs-layers' Conv2D that its typings mark private or protected. */
interface ConvInternals {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  strides: [number, number];
  padding: 'valid' | 'same';
  dataFormat: 'channelsFirst' | 'channelsLast';
  dilationRate: number | [number, number];
  activation: { getClassName(): string } | null;
}

// From the serialization registry rather than an instance, which would consume a layer name.
const registered = tf.serialization.SerializationMap.getMap().classNameMap.Conv2D;
if (!registered) throw new Error('tfjs-layers registered no Conv2D class');
const StockConv2D = registered[0] as unknown as new (args: Conv2DArgs) => Conv2DLayer;

export class PrunableConv2D extends StockConv2D {
  static className = 'Conv2D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as ConvInternals;
    const d = self.dilationRate;
    const undilated = Array.isArray(d) ? d.every((v) => v === 1) : d === 1;
    const linear = self.activation === null || self.activation.getClassName() === 'linear';
    if (kwargs?.training !== true || self.dataFormat !== 'channelsLast' || !undilated || !linear) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const y = tf.conv2d(x, self.kernel.read() as tf.Tensor4D, self.strides, self.padding);
      return self.bias === null ? y : tf.add(y, self.bias.read());
    });
  }
}

/** A real 2-D conv layer whose training gradient skips dx when nothing needs it (drop-in for tf.layers.conv2d). */
export function conv2d(args: Conv2DArgs): Conv2DLayer {
  return new PrunableConv2D(args);
}
