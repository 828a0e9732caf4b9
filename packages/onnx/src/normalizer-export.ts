import { ConfigError } from '@heed/tensor';
import type { Normalizer } from '@heed/soft-attention';
import type { GraphBuilder } from './graph-builder';

// Shape letters: ... leading dims, Lk keys (the normalized axis).

const FLOAT_LOWEST = -3.4028234663852886e38;

export interface NormalizerExportContext<N extends Normalizer = Normalizer> {
  normalizer: N;
  /** The initializer holding the normalizer's parameter at `path` (e.g. 'sinks'), under its heed name. */
  parameter(path: string): string;
}

/**
 * Writes a normalizer into a graph: scores [..., Lk] and keep (a bool value broadcastable to them,
 * true = may attend, or null) -> the name of weights [..., Lk]. Masked entries are 0 and a fully
 * masked row is all 0, as in heed.
 */
export type NormalizerExport<N extends Normalizer = Normalizer> = (
  graph: GraphBuilder,
  scores: string,
  keep: string | null,
  context: NormalizerExportContext<N>,
) => string;

const normalizerExports = new Map<string, NormalizerExport<never>>();

/** Teaches the exporter a normalizer kind (`{ replace: true }` to override a registered one). */
export function registerNormalizerExport<N extends Normalizer>(
  kind: string,
  exporter: NormalizerExport<N>,
  options: { replace?: boolean } = {},
): void {
  if (normalizerExports.has(kind) && !options.replace) {
    throw new ConfigError(`a normalizer export for kind '${kind}' is already registered; pass { replace: true } to replace it`, {
      op: 'registerNormalizerExport',
      argument: 'kind',
    });
  }
  normalizerExports.set(kind, exporter as NormalizerExport<never>);
}

export function listNormalizerExports(): string[] {
  return [...normalizerExports.keys()].sort();
}

export function normalizerExportFor(normalizer: Normalizer, op: string): NormalizerExport {
  const exporter = normalizerExports.get(normalizer.kind);
  if (!exporter) {
    throw new ConfigError(
      `the normalizer kind '${normalizer.kind}' has no ONNX export; exportable kinds: ${listNormalizerExports().join(', ')}`,
      { op, argument: 'normalizer' },
    );
  }
  return exporter as NormalizerExport;
}

/** The normalizer's temperature (1 when it has none). */
export function temperatureOf(normalizer: Normalizer): number {
  const t = (normalizer as { temperature?: unknown }).temperature;
  return typeof t === 'number' ? t : 1;
}

/** scores / T  [..., Lk] */
function tempered(graph: GraphBuilder, scores: string, normalizer: Normalizer): string {
  const T = temperatureOf(normalizer);
  return T === 1 ? scores : graph.op('Div', [scores, graph.float(T, undefined, 'temperature')]);
}

/** weights where keep, 0 elsewhere  [..., Lk] */
function zeroMasked(graph: GraphBuilder, weights: string, keep: string | null): string {
  return keep ? graph.op('Where', [keep, weights, graph.float(0)], {}, { name: 'weights' }) : weights;
}

/**
 * z − max(z) over the kept entries, floored at `floor`; masked entries are set to `floor`. An entry more
 * than 1 (sparsemax) or 2 (entmax-1.5, before halving) below the maximum is outside the support, so the
 * floor changes no weight and keeps every later square and sum finite. [..., Lk] -> [..., Lk]
 */
function shiftedAndFloored(graph: GraphBuilder, z: string, keep: string | null, floor: number): string {
  const lowest = graph.float(FLOAT_LOWEST);
  const kept = keep ? graph.op('Where', [keep, z, lowest]) : z; // [..., Lk]
  const rowMax = graph.op('ReduceMax', [kept, graph.int64s([-1])], { keepdims: 1 }); // [..., 1]
  const shifted = graph.op('Max', [graph.op('Sub', [kept, rowMax]), graph.float(floor)]); // [..., Lk]
  return keep ? graph.op('Where', [keep, shifted, graph.float(floor)]) : shifted;
}

/** The scores sorted in decreasing order along the last axis, and k = 1 … Lk as floats. [..., Lk] -> [..., Lk], [Lk] */
function sortedWithRanks(graph: GraphBuilder, z: string): { sorted: string; ranks: string } {
  const length = graph.op('Shape', [z], { start: -1 }); // [1] = Lk
  const [sorted] = graph.ops('TopK', [z, length], 2, { axis: -1, largest: 1, sorted: 1 }, { name: 'sorted' }); // [..., Lk]
  const lengthScalar = graph.op('Squeeze', [length, graph.int64s([0])]); // []
  const one = graph.int64(1);
  const ranks = graph.op('Cast', [graph.op('Range', [one, graph.op('Add', [lengthScalar, one]), one])], { to: 1 }, { name: 'ranks' }); // [Lk]
  return { sorted: sorted!, ranks };
}

registerNormalizerExport('softmax', (graph, scores, keep, { normalizer }) => {
  const z = tempered(graph, scores, normalizer); // [..., Lk]
  const kept = keep ? graph.op('Where', [keep, z, graph.float(FLOAT_LOWEST)]) : z; // [..., Lk]
  return zeroMasked(graph, graph.op('Softmax', [kept], { axis: -1 }), keep);
});

/**
 * Sparsemax (Martins & Astudillo 2016): sort z decreasing, support k ≤ k(z) where 1 + k·z₍k₎ > Σ_{j≤k} z₍j₎,
 * τ = (Σ_{j≤k(z)} z₍j₎ − 1) / k(z), p = max(z − τ, 0).
 */
registerNormalizerExport('sparsemax', (graph, scores, keep, { normalizer }) => {
  const z = shiftedAndFloored(graph, tempered(graph, scores, normalizer), keep, -2); // [..., Lk]
  const { sorted, ranks } = sortedWithRanks(graph, z);
  const cumulative = graph.op('CumSum', [sorted, graph.int64(-1)]); // [..., Lk]
  const one = graph.float(1);
  const inSupport = graph.op('Greater', [graph.op('Add', [one, graph.op('Mul', [ranks, sorted])]), cumulative]); // [..., Lk]
  const last = graph.int64s([-1]);
  const supportSize = graph.op('ReduceSum', [graph.op('Cast', [inSupport], { to: 1 }), last], { keepdims: 1 }); // [..., 1]
  const supportSum = graph.op('ReduceSum', [graph.op('Where', [inSupport, sorted, graph.float(0)]), last], { keepdims: 1 }); // [..., 1]
  const tau = graph.op('Div', [graph.op('Sub', [supportSum, one]), graph.op('Max', [supportSize, one])]); // [..., 1]
  return zeroMasked(graph, graph.op('Relu', [graph.op('Sub', [z, tau])]), keep);
});

/**
 * 1.5-entmax (Peters, Niculae & Martins 2019), the exact sort-based algorithm on z/2: with the sorted
 * prefix means μ_k and mean squares m_k, τ_k = μ_k − √max((1 − k(m_k − μ_k²)) / k, 0); the support is
 * τ_k ≤ z₍k₎, τ* = τ at the support size, p = max(z/2 − τ*, 0)².
 */
registerNormalizerExport('entmax15', (graph, scores, keep, { normalizer }) => {
  const shifted = shiftedAndFloored(graph, tempered(graph, scores, normalizer), keep, -4); // [..., Lk]
  const z = graph.op('Div', [shifted, graph.float(2)]); // [..., Lk]
  const { sorted, ranks } = sortedWithRanks(graph, z);
  const axis = graph.int64(-1);
  const mean = graph.op('Div', [graph.op('CumSum', [sorted, axis]), ranks]); // μ_k  [..., Lk]
  const meanSquare = graph.op('Div', [graph.op('CumSum', [graph.op('Mul', [sorted, sorted]), axis]), ranks]); // m_k  [..., Lk]
  const spread = graph.op('Mul', [ranks, graph.op('Sub', [meanSquare, graph.op('Mul', [mean, mean])])]); // k(m_k − μ_k²)
  const delta = graph.op('Div', [graph.op('Sub', [graph.float(1), spread]), ranks]); // [..., Lk]
  const tau = graph.op('Sub', [mean, graph.op('Sqrt', [graph.op('Relu', [delta])])]); // τ_k  [..., Lk]
  const inSupport = graph.op('LessOrEqual', [tau, sorted]); // [..., Lk]
  const supportSize = graph.op('ReduceSum', [graph.op('Cast', [inSupport], { to: 7 }), graph.int64s([-1])], { keepdims: 1 }); // [..., 1] int64
  const index = graph.op('Sub', [graph.op('Max', [supportSize, graph.int64s([1])]), graph.int64s([1])]); // [..., 1]
  const tauStar = graph.op('GatherElements', [tau, index], { axis: -1 }); // [..., 1]
  const root = graph.op('Relu', [graph.op('Sub', [z, tauStar])]); // [..., Lk]
  return zeroMasked(graph, graph.op('Mul', [root, root]), keep);
});
