import { AllOfRules, AnyOfRules, CausalRule, LocalWindowRule, SegmentRule, SlidingWindowRule, type KeepRule } from '@heed/soft-attention';
import { ConfigError } from '@heed/tensor';
import type { GraphBuilder } from './graph-builder';

// Shape letters: B batch, H heads (when the graph has a heads axis), Lq queries, Lk keys.

/** A query offset: a static integer, or the name of an int64 scalar computed in the graph (a cache's past length). */
export type OffsetValue = number | string;

export interface KeepInputs {
  /** A bool graph input broadcastable to the scores [B, (H,) Lq, Lk]; true = may attend. */
  attentionMask?: string;
  /** A bool graph input [B, Lk]; true = a real key, false = padding. */
  keyPaddingMask?: string;
  /** A float graph input broadcastable to the scores, added to them; −∞ entries drop their key (as in heed). */
  additiveMask?: string;
  /** Query row i may attend keys j ≤ i + offset (offset 0: top-left aligned, as heed). */
  causal?: { offset: OffsetValue };
  /** With causal: query row i may attend keys i + offset − window < j ≤ i + offset only (a causal sliding window). */
  slidingWindow?: number;
  /** A keep rule built from heed's built-in rules, with the graph inputs of its segment ids. */
  keepRule?: { rule: KeepRule; segments: { query: string; key: string } | null };
}

/** The one SegmentRule in a rule tree (null when there is none); a tree with two is refused. */
export function segmentRuleOf(rule: KeepRule, op: string): SegmentRule | null {
  const found: SegmentRule[] = [];
  const visit = (r: KeepRule): void => {
    if (r instanceof SegmentRule) found.push(r);
    else if (r instanceof AllOfRules || r instanceof AnyOfRules) r.rules.forEach(visit);
  };
  visit(rule);
  if (found.length > 1)
    throw new ConfigError(`keepRule holds ${found.length} SegmentRules; an export takes one (its ids become the graph inputs)`, {
      op,
      argument: 'keepRule',
    });
  return found[0] ?? null;
}

/**
 * Checks that every rule in the tree has an ONNX form (heed's causal, sliding and local windows,
 * segments, and `and` / `or` of them); a user's rule (a JavaScript function of the indices) has none.
 */
export function checkExportableRule(rule: KeepRule, op: string): void {
  if (rule instanceof AllOfRules || rule instanceof AnyOfRules) {
    for (const inner of rule.rules) checkExportableRule(inner, op);
    return;
  }
  if (rule instanceof CausalRule || rule instanceof SlidingWindowRule || rule instanceof LocalWindowRule || rule instanceof SegmentRule)
    return;
  throw new ConfigError(
    `keepRule '${rule.kind}' is a user rule (a JavaScript function of the indices) and has no ONNX export; exportable rules: CausalRule, SlidingWindowRule, LocalWindowRule, SegmentRule, and their and / or`,
    { op, argument: 'keepRule' },
  );
}

/**
 * The combined keep-mask of the graph's mask inputs, the causal rule and the keep rule, broadcastable
 * to the scores of query [..., Lq, d] and keys [..., Lk, d] of rank `rank`; null when nothing masks.
 */
export function buildKeepMask(graph: GraphBuilder, masks: KeepInputs, query: string, keys: string, rank: number): string | null {
  const parts: string[] = [];
  if (masks.attentionMask) parts.push(masks.attentionMask); // broadcastable to [B, (H,) Lq, Lk]
  if (masks.keyPaddingMask) {
    const middle = Array.from({ length: rank - 2 }, (_, i) => i + 1);
    parts.push(graph.op('Unsqueeze', [masks.keyPaddingMask, graph.int64s(middle)], {}, { name: 'key_padding_keep' })); // [B, Lk] -> [B, 1, (1,) Lk]
  }
  if (masks.additiveMask)
    parts.push(graph.op('Not', [graph.op('IsInf', [masks.additiveMask], { detect_positive: 0 })], {}, { name: 'additive_keep' })); // −∞ drops
  const grid = (): IndexGrid => indexGrid(graph, query, keys);
  if (masks.causal) parts.push(causalKeep(graph, grid(), masks.causal.offset, masks.slidingWindow)); // [Lq, Lk]
  if (masks.keepRule) parts.push(ruleKeep(graph, masks.keepRule.rule, grid(), masks.keepRule.segments, rank)); // [(B, 1,) Lq, Lk]
  if (parts.length === 0) return null;
  return parts.slice(1).reduce((all, part) => graph.op('And', [all, part], {}, { name: 'keep' }), parts[0]!);
}

/** Query row indices [Lq, 1] and key indices [Lk] (int64) of query [..., Lq, d] and keys [..., Lk, d]. */
interface IndexGrid {
  rows: string;
  columns: string;
}

function indexGrid(graph: GraphBuilder, query: string, keys: string): IndexGrid {
  const zero = graph.int64(0);
  const one = graph.int64(1);
  const lengthOf = (x: string): string => graph.op('Squeeze', [graph.op('Shape', [x], { start: -2, end: -1 }), graph.int64s([0])]); // []
  const rows = graph.op('Unsqueeze', [graph.op('Range', [zero, lengthOf(query), one]), graph.int64s([1])], {}, { name: 'query_rows' }); // [Lq, 1]
  const columns = graph.op('Range', [zero, lengthOf(keys), one], {}, { name: 'key_columns' }); // [Lk]
  return { rows, columns };
}

/** The query positions i + offset: [Lq, 1] int64. */
function positions(graph: GraphBuilder, grid: IndexGrid, offset: OffsetValue): string {
  if (offset === 0) return grid.rows;
  return graph.op('Add', [grid.rows, typeof offset === 'number' ? graph.int64(offset) : offset]); // [Lq, 1]
}

/** keep[i, j] = j ≤ i + offset (and i + offset − window < j with a window): -> [Lq, Lk] */
function causalKeep(graph: GraphBuilder, grid: IndexGrid, offset: OffsetValue, window?: number): string {
  const at = positions(graph, grid, offset); // [Lq, 1]
  const causal = graph.op('GreaterOrEqual', [at, grid.columns], {}, { name: 'causal_keep' }); // [Lq, Lk]
  if (window === undefined) return causal;
  const inWindow = graph.op('Less', [graph.op('Sub', [at, grid.columns]), graph.int64(window)]); // i − j < window  [Lq, Lk]
  return graph.op('And', [causal, inWindow], {}, { name: 'window_keep' });
}

/** A built-in keep rule as a graph: [Lq, Lk], or [B, (1,) Lq, Lk] when it holds segments. */
function ruleKeep(
  graph: GraphBuilder,
  rule: KeepRule,
  grid: IndexGrid,
  segments: { query: string; key: string } | null,
  rank: number,
): string {
  if (rule instanceof AllOfRules || rule instanceof AnyOfRules) {
    const parts = rule.rules.map((inner) => ruleKeep(graph, inner, grid, segments, rank));
    const op = rule instanceof AllOfRules ? 'And' : 'Or';
    return parts.slice(1).reduce((all, part) => graph.op(op, [all, part], {}, { name: `rule_${op.toLowerCase()}` }), parts[0]!);
  }
  if (rule instanceof CausalRule) return causalKeep(graph, grid, rule.offset); // [Lq, Lk]
  if (rule instanceof SlidingWindowRule) return causalKeep(graph, grid, rule.offset, rule.window); // [Lq, Lk]
  if (rule instanceof LocalWindowRule) {
    const distance = graph.op('Abs', [graph.op('Sub', [positions(graph, grid, rule.offset), grid.columns])]); // |i + offset − j|  [Lq, Lk]
    return graph.op('LessOrEqual', [distance, graph.int64(rule.window)], {}, { name: 'local_window_keep' });
  }
  // SegmentRule (checkExportableRule let nothing else through): same segment id.
  const { query, key } = segments!;
  const querySide = graph.op('Unsqueeze', [query, graph.int64s(rank === 4 ? [1, 3] : [2])]); // [B, (1,) Lq, 1]
  const keySide = graph.op('Unsqueeze', [key, graph.int64s(rank === 4 ? [1, 2] : [1])]); // [B, (1,) 1, Lk]
  return graph.op('Equal', [querySide, keySide], {}, { name: 'segment_keep' }); // [B, (1,) Lq, Lk]
}

/** true for each query row that keeps at least one key: keep [..., Lq, Lk] -> [..., Lq, 1] */
export function rowKeepsAny(graph: GraphBuilder, keep: string): string {
  const counts = graph.op('ReduceMax', [graph.op('Cast', [keep], { to: 1 }), graph.int64s([-1])], { keepdims: 1 }); // [..., Lq, 1]
  return graph.op('Greater', [counts, graph.float(0)], {}, { name: 'row_keeps_any' });
}
