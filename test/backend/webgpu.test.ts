/**
 * The webgpu set-up (src/backend/webgpu.ts): the adapter wrapper that works around tfjs 4.22's
 * array inside requiredFeatures and asks for every limit, the BNN_WEBGPU_ADAPTER choice, and, where
 * an adapter exists, that the device tfjs got really carries the adapter's limits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { adapterChoice, formatAdapter, wrapAdapter, type WebGpuAdapterInfo } from '../../src/backend/webgpu.ts';
import { selectBackend } from '../../src/backend/index.ts';
import { skipReason } from './backends.ts';

/** A stand-in shaped like Dawn's: limits are prototype getters, methods check their receiver. */
class FakeLimits {
  get maxBufferSize(): number { return 2 ** 30; }
  get maxStorageBuffersPerShaderStage(): number { return 10; }
}
Object.defineProperties(FakeLimits.prototype, {
  maxBufferSize: { enumerable: true }, maxStorageBuffersPerShaderStage: { enumerable: true },
});

class FakeAdapter {
  info = { vendor: 'v', architecture: 'a', device: 'd', description: 'x' };
  features = { has: (n: string) => n === 'timestamp-query' };
  limits = new FakeLimits();
  requested: unknown[] = [];
  async requestDevice(desc?: unknown): Promise<unknown> {
    if (!(this instanceof FakeAdapter)) throw new TypeError('Illegal invocation');
    this.requested.push(desc);
    return { ok: true };
  }
  name(): string {
    if (!(this instanceof FakeAdapter)) throw new TypeError('Illegal invocation');
    return 'fake';
  }
}

test('the adapter wrapper flattens requiredFeatures and requests every limit the adapter has', async () => {
  const real = new FakeAdapter();
  const wrapped = wrapAdapter(real);
  // What tfjs-backend-webgpu 4.22's base.ts passes: one name and one array of a name.
  await wrapped.requestDevice({ requiredFeatures: ['timestamp-query', ['bgra8unorm-storage']], requiredLimits: { maxBufferSize: 1 } });
  assert.deepEqual(real.requested, [{
    requiredFeatures: ['timestamp-query', 'bgra8unorm-storage'],
    requiredLimits: { maxBufferSize: 2 ** 30, maxStorageBuffersPerShaderStage: 10 },
  }]);
  // Everything else is the adapter's own, called on the adapter (not on the proxy).
  assert.equal((wrapped as unknown as FakeAdapter).name(), 'fake');
  assert.equal(wrapped.info.device, 'd');
  assert.ok('info' in wrapped);
});

test('BNN_WEBGPU_ADAPTER takes default or software, anything else is a one-line error', () => {
  assert.equal(adapterChoice({}), 'default');
  assert.equal(adapterChoice({ BNN_WEBGPU_ADAPTER: '' }), 'default');
  assert.equal(adapterChoice({ BNN_WEBGPU_ADAPTER: 'software' }), 'software');
  assert.deepEqual(adapterChoice({ BNN_WEBGPU_ADAPTER: 'swiftshader' }), { error: "BNN_WEBGPU_ADAPTER='swiftshader' is not one of default, software" });
});

test('formatAdapter names the adapter, its feature level and the limits in one line', () => {
  const a: WebGpuAdapterInfo = {
    vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H200', featureLevel: 'core', software: false,
    limits: { maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 31, maxComputeInvocationsPerWorkgroup: 1024, maxComputeWorkgroupStorageSize: 49152 },
  };
  assert.equal(formatAdapter(a), 'nvidia hopper (NVIDIA H200), core; max buffer 4096 MiB, storage binding 2048 MiB, workgroup 1024 invocations / 49152 B shared');
});

test('webgpu: the device tfjs created carries the adapter\'s limits, not WebGPU\'s defaults', { skip: skipReason('webgpu') }, async () => {
  const b = await selectBackend('webgpu');
  assert.equal(tf.getBackend(), 'webgpu');
  const device = (tf.backend() as unknown as { device: { limits: Record<string, number> } }).device;
  assert.match(b.detail, /max buffer \d+ MiB/);
  // WebGPU's default is 8 (4 in compatibility mode); every adapter here offers more.
  assert.ok(device.limits.maxStorageBuffersPerShaderStage! > 8, `got ${device.limits.maxStorageBuffersPerShaderStage}`);
  await selectBackend('cpu');
});
