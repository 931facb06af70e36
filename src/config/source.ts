/**
 * YAML files read with their source positions, so that every key and value can be reported as
 * `file:line:col`. Everything above this module works on `yaml` nodes, never on bare JS values,
 * until a value has been validated.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isAlias, isCollection, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
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
  if (first?.code === 'MULTIPLE_DOCS') throw new ConfigError('a second YAML document (---) starts here; a config file holds one', offsetPos(src, first.pos[0]));
  if (first) throw new ConfigError(`YAML syntax error: ${first.message}`, offsetPos(src, first.pos[0]));
  checkExpansion(src);
  return src;
}

/** Config files are a few KB; anything this large is a mistake, and parsing it would take a while. */
export const MAX_YAML_BYTES = 1 << 20;
/** Values a document may expand to with its aliases resolved (the largest shipped file has ~500). */
export const MAX_YAML_NODES = 100_000;

/**
 * Refuses documents whose aliases expand to more than MAX_YAML_NODES values (the "billion laughs"
 * alias bomb) before anything walks them: sizes are counted once per anchored node, so the check
 * itself stays linear in the text.
 */
function checkExpansion(src: YamlSource): void {
  const memo = new Map<Node, number>();
  const size = (node: unknown): number => {
    if (isAlias(node)) return size(node.resolve(src.doc));
    if (isPair(node)) return size(node.key) + size(node.value);
    if (!isCollection(node)) return 1;
    const known = memo.get(node);
    if (known !== undefined) return known;
    memo.set(node, Infinity); // a node that contains itself expands without end
    let total = 1;
    for (const item of node.items) {
      total += size(item);
      if (total > MAX_YAML_NODES) break;
    }
    memo.set(node, total);
    return total;
  };
  const total = size(src.doc.contents);
  if (total > MAX_YAML_NODES) {
    throw new ConfigError(`aliases expand this document to more than ${MAX_YAML_NODES} values (an alias bomb?); write the values out`, { file: src.display });
  }
}

/** Reads and parses a file; `from` is where a reference to it was written (for "no such file"). */
export function readYaml(absPath: string, cwd: string, from?: SourcePosition, what = 'file'): YamlSource {
  const display = displayPath(absPath, cwd);
  let text: string;
  try {
    // A FIFO or a device would block the read, or never end.
    const stat = statSync(absPath);
    if (!stat.isFile() && !stat.isDirectory()) throw new ConfigError(`${what} '${display}': not a regular file`, from);
    if (stat.size > MAX_YAML_BYTES) throw new ConfigError(`${what} '${display}': ${stat.size} bytes, more than a config file can be (${MAX_YAML_BYTES})`, from);
    text = readFileSync(absPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code ?? err})`;
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${what} '${display}': ${why}`, from);
  }
  const src = parseYaml(text, absPath, display);
  const root = src.doc.contents as Node | null;
  // An empty run config (extends) adds no overrides; an empty experiment planned a default full-size run.
  if (what === 'experiment' && (root === null || (isScalar(root) && (root.value === null || root.value === '')))) {
    throw new ConfigError(`${what} '${display}' is empty (nothing but comments or blank lines)`, from ?? { file: display });
  }
  return src;
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
  try {
    return node.toJS(src.doc) as unknown;
  } catch (err) {
    // yaml refuses excessive alias use (ReferenceError) and bad anchors: input errors, not crashes.
    throw new ConfigError(`cannot read this value: ${(err as Error).message}`, posOf(src, node));
  }
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
