import type { AttentionProblem } from '../attention';

// The score variants of the attention seam on the JS kernels (see `AttentionProblem`): biases by
// (head, i, j), the soft-cap, segment keep rules and sinks, applied to one row of a score tile at a time.
// Shape letters: n slices, H query heads, B = n / H batch elements, Lq queries, Lk keys.

/** A problem's variant fields, resolved once per kernel call; null when it has none. */
export interface ScoreVariants {
  /** H: slice s is head s mod H of batch element ⌊s / H⌋. */
  heads: number;
  queryLength: number;
  keyLength: number;
  alibiSlopes: Float32Array | null;
  queryPositionOffset: number;
  positionBias: Float32Array | null;
  softcap: number | null;
  sinks: Float32Array | null;
  querySegments: Int32Array | null;
  keySegments: Int32Array | null;
  /** Whether any term changes the scores before masking (ALiBi, bias, softcap). */
  modifies: boolean;
}

/** The problem's variants, or null when it has none (the kernels then run their plain loop). */
export function scoreVariantsOf(problem: AttentionProblem): ScoreVariants | null {
  const alibiSlopes = problem.alibiSlopes ?? null;
  const positionBias = problem.positionBias ?? null;
  const softcap = problem.softcap ?? null;
  const sinks = problem.sinks ?? null;
  const segmented = problem.querySegments != null && problem.keySegments != null;
  if (alibiSlopes === null && positionBias === null && softcap === null && sinks === null && !segmented) return null;
  return {
    heads: problem.heads ?? 1,
    queryLength: problem.queryLength,
    keyLength: problem.keyLength,
    alibiSlopes,
    queryPositionOffset: problem.queryPositionOffset ?? 0,
    positionBias,
    softcap,
    sinks,
    querySegments: segmented ? problem.querySegments! : null,
    keySegments: segmented ? problem.keySegments! : null,
    modifies: alibiSlopes !== null || positionBias !== null || softcap !== null,
  };
}

/**
 * One row of scores, query i of `slice` against keys j0 + c for c in [first, visible), at s[at + c]:
 *   x += m_h (j − i − offset) + bias[h, j − i + Lq − 1];  s = cap · tanh(x / cap);  s = −∞ where the segments differ.
 * With `slope`, slope[at + c] = ds/dx = 1 − tanh²(x / cap) (1 without a cap) for the backward.  [visible − first] -> same
 */
export function modifyScoreRow(
  variants: ScoreVariants,
  s: Float64Array,
  at: number,
  slice: number,
  i: number,
  j0: number,
  first: number,
  visible: number,
  slope: Float64Array | null = null,
): void {
  const { heads: H, queryLength: Lq, keyLength: Lk, alibiSlopes, positionBias, softcap, querySegments, keySegments } = variants;
  const h = slice % H;
  if (alibiSlopes !== null) {
    const m = alibiSlopes[h]!;
    const distance = j0 - i - variants.queryPositionOffset; // j − i − offset at c = 0
    for (let c = first; c < visible; c++) s[at + c]! += m * (distance + c);
  }
  if (positionBias !== null) {
    const diagonal = h * (Lq + Lk - 1) + j0 - i + Lq - 1; // index of j − i at c = 0
    for (let c = first; c < visible; c++) s[at + c]! += positionBias[diagonal + c]!;
  }
  if (softcap !== null) {
    const inv = 1 / softcap;
    for (let c = first; c < visible; c++) {
      const t = Math.tanh(s[at + c]! * inv);
      s[at + c] = softcap * t;
      if (slope !== null) slope[at + c] = 1 - t * t;
    }
  } else if (slope !== null) slope.fill(1, at + first, at + visible);
  if (querySegments !== null && keySegments !== null) {
    const b = Math.floor(slice / H);
    const segment = querySegments[b * Lq + i]!;
    const keyRow = b * Lk + j0;
    for (let c = first; c < visible; c++) if (keySegments[keyRow + c] !== segment) s[at + c] = -Infinity;
  }
}

/**
 * Adds one row of ∂L/∂x (the gradient before the soft-cap, dS ⊙ slope) to the relative position bias's
 * gradient along its diagonals: dBias[h, j − i + Lq − 1] += g[at + c] for c in [0, count).  [count] -> [H, Lq + Lk − 1]
 */
export function addBiasGradientRow(
  variants: ScoreVariants,
  dPositionBias: Float64Array,
  g: Float64Array,
  at: number,
  slice: number,
  i: number,
  j0: number,
  count: number,
): void {
  const { heads: H, queryLength: Lq, keyLength: Lk } = variants;
  const diagonal = (slice % H) * (Lq + Lk - 1) + j0 - i + Lq - 1;
  for (let c = 0; c < count; c++) dPositionBias[diagonal + c]! += g[at + c]!;
}

/**
 * Folds the sink of `slice`'s head into a row's softmax statistics (max m, sum l of e^(s − m)):
 * returns [m', l'] with l' = l·e^(m − m') + e^(sink − m'). A row of +∞ scores ignores the sink (finite
 * mass next to infinite), and a fully masked row becomes (sink, 1).
 */
export function withSink(variants: ScoreVariants, slice: number, m: number, l: number): [number, number] {
  const sinks = variants.sinks;
  if (sinks === null || m === Infinity) return [m, l];
  const sink = sinks[slice % variants.heads]!;
  if (m === -Infinity) return [sink, 1];
  const top = Math.max(m, sink);
  return [top, l * Math.exp(m - top) + Math.exp(sink - top)];
}
