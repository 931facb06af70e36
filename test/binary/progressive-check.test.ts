/**
 * experiments/checks/cls-progressive.yaml (the MNIST check of progressive quantization) plans,
 * and its rows are the four quantizers it claims to compare.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPlan } from '../../src/grid/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('the progressive check study plans under smoke: hard sign, scaled exact, scaled surrogate, raw', () => {
  const plan = loadPlan('experiments/checks/cls-progressive.yaml', { cwd: ROOT, preset: 'smoke' });
  assert.equal(plan.warnings, undefined);
  const rows = plan.runs.filter((r) => r.config.seed === 0).map((r) => {
    const p = r.config.progressive;
    return [p.enabled, p.scale, p.gradient, p.lambda_end, r.config.binarize.order, r.config.model.activation].join(' ');
  });
  assert.deepEqual(rows, [
    'false mean_abs exact 1000 features-first prelu',
    'true mean_abs exact 1000 features-first prelu',
    'true mean_abs surrogate 1000 features-first prelu',
    'true none exact 100 features-first prelu',
  ]);
});
