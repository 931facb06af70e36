// The types of tf.cjs: the tfjs umbrella itself, so a default import carries its namespaces
// (tf.Tensor4D as a type) as `import * as tf` did.
import tf = require('@tensorflow/tfjs');
export = tf;
