/**
 * One source per default: every exported `DEFAULT_*` that restates a run-config key must equal the
 * schema's value (src/config/schema.ts). A module exporting a new `DEFAULT_*` fails here until the
 * table below says which schema key it is (or that it is not a config key, and why).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS, SCHEMA, defaultConfig, leafEntries } from '../../src/config/schema.ts';
import * as activations from '../../src/binary/activations.ts';
import * as binaryLayers from '../../src/binary/binary-layers.ts';
import * as quantizers from '../../src/binary/quantizers.ts';
import * as quantState from '../../src/binary/quant-state.ts';
import * as build from '../../src/models/build.ts';
import * as pck from '../../src/metrics/pck.ts';
import * as pckh from '../../src/metrics/pckh.ts';
import * as check from '../../src/report/check.ts';
import * as expand from '../../src/grid/expand.ts';
import { MPII_JOINTS } from '../../src/data/types.ts';

const get = (key: string): unknown => {
  const spec = leafEntries().find(([k]) => k === key);
  assert.ok(spec, `no schema key ${key}`);
  return spec[1].default;
};

/** Each exported DEFAULT_*: the schema key it restates, or null with the reason it is no config key. */
const TABLE: Record<string, { value: unknown; schema: string | null; why?: string }> = {
  DEFAULT_SWISH_BETA: { value: quantizers.DEFAULT_SWISH_BETA, schema: 'binarize.swish_beta' },
  DEFAULT_LAMBDA: { value: quantState.DEFAULT_LAMBDA, schema: 'progressive.lambda_start' },
  DEFAULT_PRELU_INIT: { value: activations.DEFAULT_PRELU_INIT, schema: 'model.prelu_init' },
  DEFAULT_LEAKY_SLOPE: { value: activations.DEFAULT_LEAKY_SLOPE, schema: 'model.leaky_slope' },
  DEFAULT_PCKH_THRESHOLD: { value: pckh.DEFAULT_PCKH_THRESHOLD, schema: 'eval.pckh_threshold' },
  DEFAULT_QUANT_SETTINGS: { value: quantState.DEFAULT_QUANT_SETTINGS, schema: null, why: 'several keys; checked key by key below' },
  DEFAULT_NUM_JOINTS: { value: build.DEFAULT_NUM_JOINTS, schema: null, why: 'MPII joint count, a data fact' },
  DEFAULT_BINARY_USE_BIAS: { value: binaryLayers.DEFAULT_BINARY_USE_BIAS, schema: null, why: 'layer argument, no config key' },
  DEFAULT_CHECK: { value: check.DEFAULT_CHECK, schema: null, why: 'CI gate options, no run-config key' },
  DEFAULT_MAX_RUNS: { value: expand.DEFAULT_MAX_RUNS, schema: null, why: 'plan-size limit, a CLI flag' },
};

describe('defaults in one place', () => {
  it('knows every exported DEFAULT_* of the modules that state defaults', () => {
    const exported = [activations, binaryLayers, quantizers, quantState, build, pckh, check, expand]
      .flatMap((m) => Object.keys(m).filter((k) => k.startsWith('DEFAULT_')));
    assert.deepEqual([...new Set(exported)].sort(), Object.keys(TABLE).sort());
  });

  it('every DEFAULT_* naming a schema key equals the schema default', () => {
    for (const [name, row] of Object.entries(TABLE)) {
      if (row.schema === null) { assert.ok(row.why, `${name}: say why it is no config key`); continue; }
      assert.deepEqual(row.value, get(row.schema), `${name} vs ${row.schema}`);
    }
  });

  it('DEFAULT_QUANT_SETTINGS is the schema default of each key it maps', () => {
    const s = quantState.DEFAULT_QUANT_SETTINGS;
    assert.deepEqual(s, {
      gradient: get('binarize.gradient'), swishBeta: get('binarize.swish_beta'), signAtZero: get('model.sign_at_zero'),
      weightScale: get('binarize.weight_scale'), weightClip: get('binarize.weight_clip'),
      progressive: {
        enabled: get('progressive.enabled'), fn: get('progressive.function'), scale: get('progressive.scale'),
        gradient: get('progressive.gradient'), applyTo: get('progressive.apply_to'), evalHardSign: get('progressive.eval_hard_sign'),
      },
    });
  });

  it('literal lists of choices are the schema\'s', () => {
    assert.deepEqual(activations.ACTIVATION_KINDS, SCHEMA.model.activation.choices);
    assert.deepEqual(pck.PCK_NORMALIZERS, SCHEMA.eval.pck_normalizer.choices.filter((c) => c !== 'auto'));
    assert.equal(build.DEFAULT_NUM_JOINTS, MPII_JOINTS.length);
  });

  it('DEFAULTS is a frozen copy of defaultConfig()', () => {
    assert.deepEqual(DEFAULTS, defaultConfig());
    assert.ok(Object.isFrozen(DEFAULTS) && Object.isFrozen(DEFAULTS.model) && Object.isFrozen(DEFAULTS.model.keep_real));
    assert.throws(() => { (DEFAULTS.model as { stacks: number }).stacks = 2; }, TypeError);
    assert.notEqual(defaultConfig().model.keep_real, defaultConfig().model.keep_real, 'defaultConfig() returns a fresh copy');
  });
});
