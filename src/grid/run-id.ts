import { createHash } from 'node:crypto';
import { canonicalJson } from '../config/canonical.ts';
import type { RunConfig } from '../config/schema.ts';

/**
 * A run's identity: a hash of everything that determines its result (the resolved config, seed
 * included), never of how the YAML was written, so reformatting a file keeps its results.
 */
export function runId(config: RunConfig): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex').slice(0, 10);
}
