import tf from '../tf.cjs';
import { BinaryConv2D, BinaryDense } from '../binary/binary-layers.ts';
import { FastBatchNormalization } from './batch-norm.ts';
import { PrunableConv2D } from './conv.ts';

type LayerClass = tf.serialization.SerializableConstructor<tf.layers.Layer>;

/**
 * The layer classes this project puts in tfjs's serialization registry, so that a saved model
 * loads into them: our binary layers under their own names, and two replacements registered under
 * the stock names ('Conv2D', 'BatchNormalization'; conv.ts and batch-norm.ts say why), so saved
 * models still name the stock classes and load elsewhere. Nothing is registered at import.
 */
const LAYER_CLASSES: readonly LayerClass[] = [
  BinaryConv2D, BinaryDense,
  PrunableConv2D as unknown as LayerClass, FastBatchNormalization as unknown as LayerClass,
];

/** The class names `installLayerClasses` registers. */
export const LAYER_CLASS_NAMES: readonly string[] = LAYER_CLASSES.map((c) => (c as unknown as { className: string }).className);

/** Registers LAYER_CLASSES (idempotent); buildModel and loadModel call it. */
export function installLayerClasses(): void {
  const map = tf.serialization.SerializationMap.getMap().classNameMap;
  for (const c of LAYER_CLASSES) {
    const name = (c as unknown as { className: string }).className;
    if (map[name]?.[0] !== (c as unknown)) tf.serialization.registerClass(c);
  }
}
