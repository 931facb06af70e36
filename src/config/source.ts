/**
 * YAML files read with their source positions, so that every key and value can be reported as
 * `file:line:col`. Everything above this module works on `yaml` nodes, never on bare JS values,
 * until a value has been validated.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ConfigError, type SourcePosition } from '../errors.ts';

export interface YamlSource {
  /** Absolute path (or a pseudo-name such as `--set` for command-line text). */
  path: string;
  /** The name messages show: relative to the working directory when inside it. */
  display: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** One `key: value` pair of a mapping, with the key as written. */
export interface Entry {
  key: string;
  keyPos: SourcePosition;
  /** The value node, aliases resolved; `null` only for a missing value. */
  value: Node | null;
  valuePos: SourcePosition;
}

export function displayPath(abs: string, cwd: string): string {
  const rel = path.relative(cwd, abs);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}

/** Parses YAML text; syntax errors become a ConfigError at the first error's position. */
export function parseYaml(text: string, absPath: string, display: string): YamlSource {
  const lines = new LineCounter();
  // prettyErrors would append a multi-line excerpt; messages here must stay on one line.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const src: YamlSource = { path: absPath, display, doc, lines };
  const first = doc.errors[0];
  if (first) throw new ConfigError(`YAML syntax error: ${first.message}`, offsetPos(src, first.pos[0]));
  return src;
}

/** Reads and parses a file; `from` is where a reference to it was written (for "no such file"). */
export function readYaml(absPath: string, cwd: string, from?: SourcePosition, what = 'file'): YamlSource {
  const display = displayPath(absPath, cwd);
  let text: string;
  try {
    text = readFileSync(absPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code ?? err})`;
    throw new ConfigError(`${what} '${display}': ${why}`, from);
  }
  return parseYaml(text, absPath, display);
}

export function offsetPos(src: YamlSource, offset: number): SourcePosition {
  const { line, col } = src.lines.linePos(offset);
  return { file: src.display, line, col };
}

export function posOf(src: YamlSource, node: Node | null | undefined): SourcePosition {
  const offset = node?.range?.[0];
  return offset === undefined ? { file: src.display } : offsetPos(src, offset);
}

/** Follows an alias (`*name`) to the node it names. */
export function deref(src: YamlSource, node: Node | null | undefined): Node | null {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return (node.resolve(src.doc) as Node | undefined) ?? null;
  return node;
}

/** The plain JS value of a node; a missing value is `null`. */
export function toJS(src: YamlSource, node: Node | null): unknown {
  if (node === null) return null;
  return node.toJS(src.doc) as unknown;
}

/** The document's top-level mapping; an empty document is an empty mapping. */
export function rootEntries(src: YamlSource): Entry[] {
  const root = src.doc.contents as Node | null;
  if (root === null || (isScalar(root) && root.value === null)) return [];
  return mapEntries(src, root, 'the top level of the file');
}

/** The entries of a mapping node; anything else is an error naming `what`. */
export function mapEntries(src: YamlSource, node: Node | null, what: string, at?: SourcePosition): Entry[] {
  const target = deref(src, node);
  // `key:` with nothing after it (everything below commented out, say) is an empty mapping.
  if (isScalar(target) && target.value === null) return [];
  if (!isMap(target)) throw new ConfigError(`${what} must be a mapping, got ${kindOf(target)}`, node ? posOf(src, node) : at);
  return target.items.map((pair) => {
    const keyNode = pair.key as Node | null;
    if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
      throw new ConfigError('keys must be plain names', posOf(src, keyNode ?? target));
    }
    const value = deref(src, pair.value as Node | null);
    const keyPos = posOf(src, keyNode);
    return { key: String(keyNode.value), keyPos, value, valuePos: value ? posOf(src, pair.value as Node) : keyPos };
  });
}

/** The items of a sequence node; anything else is an error naming `what`. */
export function seqItems(src: YamlSource, node: Node | null, what: string, at: SourcePosition): Array<{ node: Node | null; pos: SourcePosition }> {
  const target = deref(src, node);
  if (!isSeq(target)) throw new ConfigError(`${what} must be a list, got ${kindOf(target)}`, node ? posOf(src, node) : at);
  return target.items.map((item) => {
    const n = deref(src, item as Node | null);
    return { node: n, pos: n ? posOf(src, item as Node) : posOf(src, target) };
  });
}

/** A short description of what a node holds, for "expected X, got Y" messages. */
export function kindOf(node: Node | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return describeValue(node.value);
  return 'an unsupported value';
}

export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `string '${value}'`;
  if (typeof value === 'number') return Number.isInteger(value) ? `integer ${value}` : `number ${value}`;
  if (typeof value === 'boolean') return `boolean ${value}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
