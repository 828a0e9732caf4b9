// The benchmark problems: shapes, FLOP counts and the seeded inputs every implementation gets.
// Every child process regenerates the same bits from the same seed, so no input crosses a process.

export const MODEL_DIM = 512;
export const HEADS = 8;
export const HEAD_DIM = MODEL_DIM / HEADS; // 64
export const SCALE = 1 / Math.sqrt(HEAD_DIM);
const SEED = 20240601;

/** FLOPs of one forward pass (multiply-add = 2 FLOPs). `train` counts forward + backward as 3× forward. */
export function flopsOf(task, L) {
  const d = MODEL_DIM;
  if (task === 'sdpa') return 4 * L * L * d; // QKᵀ and weights·V, d_total = heads · head dim
  const forward = 4 * (2 * L * d * d) + 4 * L * L * d; // Q, K, V, output projections + scores + weighted sum
  return task === 'train' ? 3 * forward : forward;
}

/** mulberry32: small, fast, and the same in every process. */
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(n, bound, seed) {
  const next = generator(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * next() - 1) * bound;
  return out;
}

/** Layer weights in PyTorch's layout: W [out, in] (y = x Wᵀ + b), biases [out]. Same for every L. */
export function makeWeights() {
  const d = MODEL_DIM;
  const bound = 1 / Math.sqrt(d); // PyTorch's nn.Linear default init range
  return {
    wq: uniform(d * d, bound, SEED + 1),
    wk: uniform(d * d, bound, SEED + 2),
    wv: uniform(d * d, bound, SEED + 3),
    wo: uniform(d * d, bound, SEED + 4),
    bq: uniform(d, bound, SEED + 5),
    bk: uniform(d, bound, SEED + 6),
    bv: uniform(d, bound, SEED + 7),
    bo: uniform(d, bound, SEED + 8),
  };
}

/**
 * Inputs of one problem.
 *   mha / train: x [1, L, 512] (self-attention: query = key = value = x), plus for train a fixed
 *                upstream gradient g [1, L, 512] (loss = Σ out ⊙ g).
 *   sdpa:        q, k, v [1, 8, L, 64].
 */
export function makeInputs(task, L) {
  if (task === 'sdpa') {
    const n = HEADS * L * HEAD_DIM;
    return { q: uniform(n, 1, SEED + 11 + L), k: uniform(n, 1, SEED + 12 + L), v: uniform(n, 1, SEED + 13 + L) };
  }
  const inputs = { x: uniform(L * MODEL_DIM, 1, SEED + 21 + L) };
  if (task === 'train') inputs.g = uniform(L * MODEL_DIM, 1, SEED + 22 + L);
  return inputs;
}

/** W [rows, cols] -> Wᵀ [cols, rows] (peers multiply x · Wᵀ with a pre-transposed weight). */
export function transposed(w, rows, cols) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

/** Additive causal mask [L, L]: 0 where key j ≤ query i, −1e9 elsewhere (for the peers; heed takes `causal: true`). */
export function causalAdditiveMask(L) {
  const m = new Float32Array(L * L);
  for (let i = 0; i < L; i++) m.fill(-1e9, i * L + i + 1, (i + 1) * L);
  return m;
}

/** max |a − b| and that over max |b| (the reference). */
export function compare(a, ref) {
  if (a.length !== ref.length) return { maxAbsDiff: Infinity, relDiff: Infinity, note: `length ${a.length} ≠ ${ref.length}` };
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - ref[i]);
    if (Number.isNaN(d)) return { maxAbsDiff: NaN, relDiff: NaN, note: `NaN at ${i}` };
    if (d > maxDiff) maxDiff = d;
    const r = Math.abs(ref[i]);
    if (r > maxRef) maxRef = r;
  }
  return { maxAbsDiff: maxDiff, relDiff: maxRef > 0 ? maxDiff / maxRef : maxDiff };
}
