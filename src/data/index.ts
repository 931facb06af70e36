/**
 * Dataset factory: the one place that maps `data.name` to a loader. Loaders are imported lazily
 * so that reading one dataset never loads another's dependencies (mnist's 20 MB of JSON, sharp).
 * mpii and imagenet read `data.root` and may fail with a DataError naming what is missing.
 */
import type { RunConfig } from '../config/schema.ts';
import { DataError } from '../errors.ts';
import type { Dataset } from './types.ts';

export interface CreateDatasetOptions {
  /**
   * Classification only: input channels the model wants. mnist is grey (1, the default) and is
   * replicated to 3 when asked.
   */
  channels?: 1 | 3;
}

/**
 * Channels of the network input for a run config, known without loading the data (model
 * summaries need it): mnist and fashion-mnist are grey unless asked for 3; every other set is RGB.
 */
export function inputChannels(config: RunConfig, opts: CreateDatasetOptions = {}): 1 | 3 {
  return config.data.name === 'mnist' || config.data.name === 'fashion-mnist' ? opts.channels ?? 1 : 3;
}

/**
 * Joints (heatmap channels) of a pose run's data, known without decoding images: a COCO keypoints
 * set's category names them (read from the training annotation file); every other pose set has
 * the model's default (MPII's 16). Model summaries use it so they show the network training builds.
 */
export async function poseJoints(config: RunConfig): Promise<number | undefined> {
  if (config.task !== 'pose' || config.data.name !== 'coco-keypoints') return undefined;
  const [{ cocoOptionsFromConfig }, { keypointCategory, resolvePattern }, { readJsonFile }] = await Promise.all([
    import('./coco-keypoints.ts'), import('./coco/annotations.ts'), import('../metrics/pckh-io.ts')]);
  const o = cocoOptionsFromConfig(config);
  const file = await resolvePattern(o.root, o.trainAnnotations, 'data.train_annotations');
  const json = await readJsonFile(file);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new DataError(`${file}: expected a COCO object with images, annotations and categories`);
  return keypointCategory(json as Record<string, unknown>, file).names.length;
}

/** The dataset a run config names, ready to yield batches. */
export async function createDataset(config: RunConfig, opts: CreateDatasetOptions = {}): Promise<Dataset> {
  const name = config.data.name;
  switch (name) {
    case 'synthetic-pose': {
      const { SyntheticPoseDataset, syntheticPoseOptions } = await import('./synthetic-pose.ts');
      return new SyntheticPoseDataset(syntheticPoseOptions(config));
    }
    case 'mnist': {
      const { MnistDataset } = await import('./mnist.ts');
      return new MnistDataset({
        seed: config.seed,
        inputSize: config.data.input_size,
        trainSize: config.data.train_size,
        valSize: config.data.val_size,
        channels: inputChannels(config, opts),
      });
    }
    case 'mpii': {
      const { openMpii } = await import('./mpii.ts');
      return openMpii(config);
    }
    case 'coco-keypoints': {
      const { openCocoKeypoints } = await import('./coco-keypoints.ts');
      return openCocoKeypoints(config);
    }
    case 'image-folder':
    case 'imagenet': {
      const { openImageFolder } = await import('./image-folder.ts');
      return openImageFolder(config);
    }
    case 'cifar10': {
      const { openCifar10 } = await import('./cifar10.ts');
      return openCifar10(config);
    }
    case 'fashion-mnist': {
      const { openFashionMnist } = await import('./fashion-mnist.ts');
      return openFashionMnist(config, inputChannels(config, opts));
    }
    default:
      throw new DataError(`unknown data.name '${name}' (known: synthetic-pose, mpii, coco-keypoints, mnist, fashion-mnist, cifar10, image-folder, imagenet)`);
  }
}
