/**
 * `--set key=value`: the value is read as YAML (so `[1,2]`, `null`, `true`, `1e-3` work) and
 * checked against the key's schema type. Errors name the flag as typed, since there is no file.
 */
import { isScalar, type Node } from 'yaml';
import { ConfigError, UsageError } from '../errors.ts';
import { readLeaf, type Override } from './assign.ts';
import { isSection, leafSpec, unknownKeyMessage } from './keys.ts';
import { parseYaml } from './source.ts';

export function parseSetFlag(flag: string): Override {
  const fail = (why: string) => new UsageError(`--set '${flag}': ${why}`);
  const eq = flag.indexOf('=');
  if (eq <= 0) throw fail('expected key=value');
  const key = flag.slice(0, eq).trim();
  const raw = flag.slice(eq + 1);
  const spec = leafSpec(key);
  if (!spec) throw fail(isSection(key) ? `'${key}' is a section: set its keys one at a time` : unknownKeyMessage(key));
  const pos = { file: `--set ${key}` };
  try {
    const src = parseYaml(raw, '--set', '--set');
    const node = src.doc.contents as Node | null;
    // A string key takes the text as typed: `--set data.root=2024` means the folder "2024".
    if (spec.type === 'string' && isScalar(node) && node.value !== null && typeof node.value !== 'string') {
      return { key, value: raw.trim(), pos };
    }
    return { key, value: readLeaf(src, key, node, pos), pos };
  } catch (err) {
    if (err instanceof ConfigError) throw fail(err.detail);
    throw err;
  }
}

/** Parses every `--set` flag, in order (a key given twice: the last one wins). */
export function parseSetFlags(flags: readonly string[]): Override[] {
  return flags.map(parseSetFlag);
}
