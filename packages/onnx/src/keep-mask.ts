import type { GraphBuilder } from './graph-builder';

// Shape letters: B batch, H heads (when the graph has a heads axis), Lq queries, Lk keys.

export interface KeepInputs {
  /** A bool graph input broadcastable to the scores [B, (H,) Lq, Lk]; true = may attend. */
  attentionMask?: string;
  /** A bool graph input [B, Lk]; true = a real key, false = padding. */
  keyPaddingMask?: string;
  /** Query i may attend keys j ≤ i (top-left aligned, as heed). */
  causal?: boolean;
  /** With causal: query i may attend keys i − window < j ≤ i only (a causal sliding window). */
  slidingWindow?: number;
}

/**
 * The combined keep-mask of the graph's mask inputs and the causal rule, broadcastable to the scores of
 * query [..., Lq, d] and keys [..., Lk, d] of rank `rank`; null when nothing masks.
 */
export function buildKeepMask(graph: GraphBuilder, masks: KeepInputs, query: string, keys: string, rank: number): string | null {
  const parts: string[] = [];
  if (masks.attentionMask) parts.push(masks.attentionMask); // broadcastable to [B, (H,) Lq, Lk]
  if (masks.keyPaddingMask) {
    const middle = Array.from({ length: rank - 2 }, (_, i) => i + 1);
    parts.push(graph.op('Unsqueeze', [masks.keyPaddingMask, graph.int64s(middle)], {}, { name: 'key_padding_keep' })); // [B, Lk] -> [B, 1, (1,) Lk]
  }
  if (masks.causal) parts.push(causalKeep(graph, query, keys, masks.slidingWindow)); // [Lq, Lk]
  if (parts.length === 0) return null;
  return parts.slice(1).reduce((all, part) => graph.op('And', [all, part], {}, { name: 'keep' }), parts[0]!);
}

/** keep[i, j] = j ≤ i (and i − window < j with a window) for query [..., Lq, d] and keys [..., Lk, d]: -> [Lq, Lk] */
export function causalKeep(graph: GraphBuilder, query: string, keys: string, window?: number): string {
  const zero = graph.int64(0);
  const one = graph.int64(1);
  const lengthOf = (x: string): string => graph.op('Squeeze', [graph.op('Shape', [x], { start: -2, end: -1 }), graph.int64s([0])]); // []
  const rows = graph.op('Unsqueeze', [graph.op('Range', [zero, lengthOf(query), one]), graph.int64s([1])]); // [Lq, 1]
  const columns = graph.op('Range', [zero, lengthOf(keys), one]); // [Lk]
  const causal = graph.op('GreaterOrEqual', [rows, columns], {}, { name: 'causal_keep' }); // [Lq, Lk]
  if (window === undefined) return causal;
  const inWindow = graph.op('Less', [graph.op('Sub', [rows, columns]), graph.int64(window)]); // i − j < window  [Lq, Lk]
  return graph.op('And', [causal, inWindow], {}, { name: 'window_keep' });
}

/** true for each query row that keeps at least one key: keep [..., Lq, Lk] -> [..., Lq, 1] */
export function rowKeepsAny(graph: GraphBuilder, keep: string): string {
  const counts = graph.op('ReduceMax', [graph.op('Cast', [keep], { to: 1 }), graph.int64s([-1])], { keepdims: 1 }); // [..., Lq, 1]
  return graph.op('Greater', [counts, graph.float(0)], {}, { name: 'row_keeps_any' });
}
