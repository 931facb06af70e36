/**
 * The load-time rewrite of an export's topology that fuses each binary HourGlass block (the
 * HPM block of src/models/builder.ts `hpmBlock`) into one PackedBlock layer:
 *
 *   o1 = conv1(x), o2 = conv2(o1), o3 = conv3(o2)     (PackedBinaryLayers, chained)
 *   y  = Add(Concatenate(o1, o2, o3), shortcut)
 *
 * becomes y = PackedBlock(x, shortcut), named as the Add (so its consumers need no renaming).
 * The export's files do not change (manifest versions 1 and 2 both load with or without it); an
 * engine with `convBlock` (native) then writes each branch into its channel slice of the block's
 * output with the residual added in its epilogue, and the others run the layers' own sequence.
 *
 * Fused only where the pattern is exactly this (anything else keeps its layers, still exact):
 * three 'same'-padded stride-1 packed convs without bias, each reading only the previous one
 * (the first reads anything), whose only consumers are the next conv and the concat (along the
 * last axis, in conv order), the concat's only consumer the Add, as its first input (the Add
 * computes concat + shortcut in that order; the fused epilogue keeps it), and none a model output.
 */

/** A layer entry of a tfjs topology (pythonic keys, as saved). */
interface TopologyLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes: unknown;
}

interface Topology {
  config: { layers: TopologyLayer[]; output_layers?: unknown };
}

/** A reference [layer, nodeIndex, tensorIndex, kwargs?] of an inbound node. */
type Ref = [string, number, number, ...unknown[]];

/** What the rewrite did: the new topology, and per fused packed layer the block that now holds it. */
export interface FusedBlocks {
  topology: unknown;
  /** packed layer name → the PackedBlock's name. */
  blockOf: Map<string, string>;
}

const nameOf = (l: TopologyLayer) => String(l.config.name);

/** A layer's inputs when it has one inbound node, else null. */
function inputsOf(l: TopologyLayer): Ref[] | null {
  const nodes = l.inbound_nodes as Ref[][] | undefined;
  return Array.isArray(nodes) && nodes.length === 1 ? nodes[0]! : null;
}

/** Every layer's consumers (one per reference), model outputs as '<output>'. */
function consumers(t: Topology): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (from: string, to: string) => out.set(from, [...(out.get(from) ?? []), to]);
  for (const l of t.config.layers) {
    for (const node of (l.inbound_nodes as Ref[][] | undefined) ?? []) for (const r of node) add(r[0], nameOf(l));
  }
  for (const r of (t.config.output_layers as Ref[] | undefined) ?? []) add(r[0], '<output>');
  return out;
}

/** The one reference in `refs` is to output 0 of layer `name`, first node. */
const isOnly = (refs: Ref[] | null, name: string) => refs !== null && refs.length === 1 && refs[0]![0] === name && refs[0]![1] === 0 && refs[0]![2] === 0;

/** Whether a packed layer can be a block branch: a 'same' stride-1 conv without bias. */
function isBranch(l: TopologyLayer | undefined): l is TopologyLayer {
  if (l === undefined || l.class_name !== 'PackedBinaryLayer') return false;
  const c = l.config;
  return c.dense !== true && c.use_bias !== true && c.strides === 1 && c.padding === 'same';
}

/** The block ending in Add layer `add`, as its [concat, conv1, conv2, conv3] entries, or null. */
function matchBlock(add: TopologyLayer, byName: Map<string, TopologyLayer>, uses: Map<string, string[]>): TopologyLayer[] | null {
  const addIn = inputsOf(add);
  if (add.class_name !== 'Add' || addIn === null || addIn.length !== 2) return null;
  const concat = byName.get(addIn[0]![0]);
  if (concat === undefined || concat.class_name !== 'Concatenate' || addIn[0]![1] !== 0 || addIn[0]![2] !== 0) return null;
  if (concat.config.axis !== -1 && concat.config.axis !== 3) return null;
  const parts = inputsOf(concat);
  if (parts === null || parts.length !== 3 || parts.some((r) => r[1] !== 0 || r[2] !== 0)) return null;
  const convs = parts.map((r) => byName.get(r[0]));
  if (!convs.every(isBranch)) return null;
  const [c1, c2, c3] = convs as [TopologyLayer, TopologyLayer, TopologyLayer];
  if (!isOnly(inputsOf(c2), nameOf(c1)) || !isOnly(inputsOf(c3), nameOf(c2)) || inputsOf(c1)?.length !== 1) return null;
  const same = (a: string[] | undefined, b: string[]) => a !== undefined && a.length === b.length && [...a].sort().join() === [...b].sort().join();
  if (!same(uses.get(nameOf(c1)), [nameOf(c2), nameOf(concat)]) || !same(uses.get(nameOf(c2)), [nameOf(c3), nameOf(concat)])
    || !same(uses.get(nameOf(c3)), [nameOf(concat)]) || !same(uses.get(nameOf(concat)), [nameOf(add)])) return null;
  return [concat, c1, c2, c3];
}

/** The topology with every fusable block as one PackedBlock (a copy; `topology` is not changed). */
export function fuseBlocks(topology: unknown): FusedBlocks {
  const t = structuredClone(topology) as Topology;
  const byName = new Map(t.config.layers.map((l) => [nameOf(l), l]));
  const uses = consumers(t);
  const blockOf = new Map<string, string>();
  const removed = new Set<string>();
  for (const add of t.config.layers) {
    const m = matchBlock(add, byName, uses);
    if (m === null) continue;
    const [concat, ...convs] = m as [TopologyLayer, TopologyLayer, TopologyLayer, TopologyLayer];
    const shortcut = inputsOf(add)![1]!;
    const name = nameOf(add);
    add.class_name = 'PackedBlock';
    add.config = { name, trainable: false, dtype: 'float32', concat: nameOf(concat), branches: convs.map((c) => c.config) };
    add.inbound_nodes = [[inputsOf(convs[0]!)![0]!, shortcut]];
    for (const l of m) removed.add(nameOf(l));
    for (const c of convs) blockOf.set(nameOf(c), name);
  }
  t.config.layers = t.config.layers.filter((l) => !removed.has(nameOf(l)));
  return { topology: t, blockOf };
}
