/**
 * JSON with object keys sorted at every depth, so two equal configs serialise identically
 * whatever order their YAML listed the keys in. Used for config comparison and run ids.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value as object).sort()
      .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
