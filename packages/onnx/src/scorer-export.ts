import { ConfigError } from '@heed/tensor';
import {
  AdditiveScorer,
  ConcatScorer,
  CosineScorer,
  DotScorer,
  GeneralScorer,
  ScaledDotScorer,
  listScorers,
  type Scorer,
} from '@heed/scorers';
import { ModifiedScorer } from '@heed/soft-attention';
import type { GraphBuilder } from './graph-builder';

// Shape letters: ... leading dims (B, or B and H), Lq queries, Lk keys, dq/dk feature sizes, A hidden size.

export interface ScorerExportContext<S extends Scorer = Scorer> {
  scorer: S;
  /** The initializer holding the scorer's parameter at `path` (e.g. 'W.weight'), under its heed name. */
  parameter(path: string): string;
  /** The rank of query and keys (3 for [B, L, d], 4 for [B, H, L, d]). */
  rank: number;
  /** dq and dk. */
  queryDim: number;
  keyDim: number;
}

/**
 * Writes a scorer into a graph: query [..., Lq, dq] and keys [..., Lk, dk] (value names) -> the name of
 * scores [..., Lq, Lk]. Built from standard ONNX ops only.
 */
export type ScorerExport<S extends Scorer = Scorer> = (
  graph: GraphBuilder,
  query: string,
  keys: string,
  context: ScorerExportContext<S>,
) => string;

const scorerExports = new Map<string, ScorerExport<never>>();

/**
 * Teaches the exporter a scorer kind: the graph it writes must compute what `score` computes. The
 * built-in kinds are registered already; a custom scorer registers its own (`{ replace: true }` to override).
 */
export function registerScorerExport<S extends Scorer>(kind: string, exporter: ScorerExport<S>, options: { replace?: boolean } = {}): void {
  if (scorerExports.has(kind) && !options.replace) {
    throw new ConfigError(`a scorer export for kind '${kind}' is already registered; pass { replace: true } to replace it`, {
      op: 'registerScorerExport',
      argument: 'kind',
    });
  }
  scorerExports.set(kind, exporter as ScorerExport<never>);
}

/** The kinds the exporter can write. */
export function listScorerExports(): string[] {
  return [...scorerExports.keys()].sort();
}

/** The export for this scorer's kind, or a ConfigError naming the exportable kinds. */
export function scorerExportFor(scorer: Scorer, op: string): ScorerExport {
  // A scorer that adds a position bias to an inner scorer is named '<bias>+<inner>': its export is '<bias>+*'.
  const exporter =
    scorerExports.get(scorer.kind) ?? (scorer.kind.includes('+') ? scorerExports.get(`${scorer.kind.split('+')[0]}+*`) : undefined);
  if (!exporter && scorer instanceof ModifiedScorer) {
    throw new ConfigError(
      `the ModifiedScorer '${scorer.kind}' applies a JavaScript function (its '${scorer.modifier.kind}' modifier) to the scores, which has no ONNX form; teach the exporter its graph with registerScorerExport('${scorer.kind}', …)`,
      { op, argument: 'scorer' },
    );
  }
  if (!exporter) {
    const known = listScorers().includes(scorer.kind) ? 'a registered scorer' : 'a custom scorer';
    throw new ConfigError(
      `the scorer kind '${scorer.kind}' (${known}) has no ONNX export; exportable kinds: ${listScorerExports().join(', ')}. Register one with registerScorerExport('${scorer.kind}', …)`,
      {
        op,
        argument: 'scorer',
      },
    );
  }
  return exporter as ScorerExport;
}

/** [..., L, d] -> [..., d, L] */
export function transposeLast(graph: GraphBuilder, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
  return graph.op('Transpose', [x], { perm });
}

/** x · Wᵀ for a heed Linear weight W [out, in]: [..., in] -> [..., out]. */
export function linearNoBias(graph: GraphBuilder, x: string, weight: string): string {
  return graph.op('MatMul', [x, graph.op('Transpose', [weight], { perm: [1, 0] })]);
}

/** q·kᵀ: [..., Lq, d] x [..., d, Lk] -> [..., Lq, Lk] */
function dotScores(graph: GraphBuilder, query: string, keys: string, rank: number): string {
  return graph.op('MatMul', [query, transposeLast(graph, keys, rank)], {}, { name: 'scores' });
}

/** vᵀ tanh(q' + k') with q' [..., Lq, A], k' [..., Lk, A] -> [..., Lq, Lk]. */
function tanhScores(graph: GraphBuilder, projectedQuery: string, projectedKeys: string, v: string): string {
  const q = graph.op('Unsqueeze', [projectedQuery, graph.int64s([-2])]); // [..., Lq, 1, A]
  const k = graph.op('Unsqueeze', [projectedKeys, graph.int64s([-3])]); // [..., 1, Lk, A]
  const hidden = graph.op('Tanh', [graph.op('Add', [q, k])]); // [..., Lq, Lk, A]
  return graph.op('Squeeze', [linearNoBias(graph, hidden, v), graph.int64s([-1])], {}, { name: 'scores' }); // [..., Lq, Lk, 1] -> [..., Lq, Lk]
}

/**
 * x / max(‖x‖, eps) along the last axis, computed as heed's CosineScorer does: each row divided by its
 * largest |x_i| first (c, 1 for a zero row), then u / max(‖u‖, eps / c). [..., L, d] -> [..., L, d]
 */
function unitRows(graph: GraphBuilder, x: string, eps: number): string {
  const last = graph.int64s([-1]);
  const largest = graph.op('ReduceMax', [graph.op('Abs', [x]), last], { keepdims: 1 }); // [..., L, 1]
  const c = graph.op('Where', [graph.op('Greater', [largest, graph.float(0)]), largest, graph.float(1)]); // [..., L, 1]
  const u = graph.op('Div', [x, c]); // [..., L, d]
  const floor = graph.op('Pow', [graph.op('Div', [graph.float(eps), c]), graph.float(2)]); // (eps / c)²  [..., L, 1]
  const squared = graph.op('ReduceSum', [graph.op('Mul', [u, u]), last], { keepdims: 1 }); // ‖u‖²  [..., L, 1]
  return graph.op('Div', [u, graph.op('Sqrt', [graph.op('Max', [squared, floor])])]); // [..., L, d]
}

registerScorerExport<DotScorer>('dot', (graph, q, k, { rank }) => dotScores(graph, q, k, rank));

registerScorerExport<ScaledDotScorer>('scaled-dot', (graph, q, k, { scorer, rank, keyDim }) =>
  graph.op('Mul', [dotScores(graph, q, k, rank), graph.float(scorer.scaleFor(keyDim), undefined, 'scale')]),
);

registerScorerExport<GeneralScorer>('general', (graph, q, k, { parameter, rank }) => {
  const projectedKeys = linearNoBias(graph, k, parameter('W.weight')); // [..., Lk, dk] x [dk, dq] -> [..., Lk, dq]
  return dotScores(graph, q, projectedKeys, rank); // [..., Lq, dq] x [..., dq, Lk] -> [..., Lq, Lk]
});

registerScorerExport<ConcatScorer>('concat', (graph, q, k, { scorer, parameter }) => {
  const W = parameter('W.weight'); // [A, dq + dk]
  const dq = scorer.queryDim;
  const Wq = graph.op('Slice', [W, graph.int64s([0]), graph.int64s([dq]), graph.int64s([1])]); // [A, dq]
  const Wk = graph.op('Slice', [W, graph.int64s([dq]), graph.int64s([dq + scorer.W.inFeatures]), graph.int64s([1])]); // [A, dk]
  return tanhScores(graph, linearNoBias(graph, q, Wq), linearNoBias(graph, k, Wk), parameter('v.weight'));
});

registerScorerExport<AdditiveScorer>('additive', (graph, q, k, { parameter }) => {
  const projectedQuery = graph.op('Add', [linearNoBias(graph, q, parameter('W1.weight')), parameter('b')]); // W₁q + b  [..., Lq, A]
  return tanhScores(graph, projectedQuery, linearNoBias(graph, k, parameter('W2.weight')), parameter('v.weight'));
});

registerScorerExport<CosineScorer>('cosine', (graph, q, k, { scorer, rank }) => {
  const cosine = dotScores(graph, unitRows(graph, q, scorer.eps), unitRows(graph, k, scorer.eps), rank); // [..., Lq, Lk]
  return graph.op('Div', [cosine, graph.float(scorer.temperature)]);
});

/** True when the scorer is exactly a built-in class (not a subclass that may compute something else). */
export function isBuiltInScorer(scorer: Scorer): boolean {
  const classes: Record<string, unknown> = {
    dot: DotScorer,
    'scaled-dot': ScaledDotScorer,
    general: GeneralScorer,
    concat: ConcatScorer,
    additive: AdditiveScorer,
    cosine: CosineScorer,
  };
  return classes[scorer.kind] === Object.getPrototypeOf(scorer).constructor;
}
