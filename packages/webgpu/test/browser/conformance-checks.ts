// The conformance suite of @heed/tensor/testing in the browser page, on the WebGPU backend: a subset of its cases
// (named below), with the Node route's tolerances (src/webgpu-conformance.test.ts runs every case). A subset because
// the page has one minute for everything and the naive float64 references run in its single JS thread: the cases
// left out here (sizes off the tiles, the variants grid, the 256×256 head, the large matmul grids) take ~40 s of
// reference arithmetic and exercise no WebGPU code path that the cases kept here do not (each kernel, mask layout,
// window, GQA, layout, variant gradient and edge case is kept).
import { type ConformanceTolerances, conformanceCases, deviceTarget } from '@heed/tensor/testing';
import type { WebGpuBackend } from '../../src/webgpu-backend';
import type { RouteConformance } from './route-result';

/** The cases the page runs (every other case runs in Node). */
export const BROWSER_CONFORMANCE_CASES: readonly string[] = [
  'causal: top-left, bottom-right, positive and negative offsets, across query and key blocks',
  'causal with Lq > Lk bottom-right: the first Lq − Lk rows see nothing (zero output, −∞, no gradient)',
  'windows with masks, GQA and fully masked rows (zero output, −∞, no gradient)',
  'attention masks read through broadcast strides: [Lq, Lk], [n, 1, Lk], [n, Lq, Lk], transposed storage',
  'grouped-query attention: groupSize 2, and 4 with one key/value slice (MQA), causal and masked',
  'fully masked rows, rows masked in later key blocks only, a key no row sees: zeros, −∞, no NaN',
  'nothing to attend (Lk = 0), no queries (Lq = 0), empty features (d = 0, dv = 0): zeros, −∞, no NaN',
  'large logits (scores ≈ ±1e4, spread O(1)): finite, within the rounding of the scores',
  'large logits with a wide spread (near one-hot rows, |scores| up to ~1e4): finite and correct',
  "layout 'sequence-first' ([B, L, H, ·], GQA included): the heads-first results, moved",
  'attention weights of chosen rows from the log-sum-exp: the naive softmax weights, masked and causal',
  'variants with sinks: a fully masked row gives out 0, logSumExp = the sink, and no gradient',
  "variants in layout 'sequence-first' ([B, L, H, ·], GQA): the heads-first results, moved",
  'a bias of null or undefined is no bias',
  'NaN and Infinity propagate the same way under every transpose flag (0 · ∞ = NaN)',
  'k = 0 writes zeros; m = 0 or n = 0 writes nothing',
  'softmax and log-softmax along the middle axis; a fully masked (all −∞) row is 0 (log: −∞), never NaN',
  'sum, max and min along the middle axis (NaN wins max and min)',
  'binary ops with broadcasting (scalar, row, column, both ways) and every unary op',
  'matmul: broadcast batch dims and gradients under every transpose flag',
  "scaledDotProductAttention output and gradients: plain, causal, mask, GQA, layout 'sequence-first'",
];

/** The tolerances of the WebGPU path (as src/webgpu-conformance.test.ts states them). */
export const WEBGPU_TOLERANCES: ConformanceTolerances = {
  forward: { atol: 2e-5, rtol: 2e-4 },
  gradient: { atol: 1e-4, rtol: 1e-3 },
  float32: true,
  softmax: { atol: 1e-6, rtol: 1e-5 },
  reduce: { atol: 1e-6, rtol: 1e-6 },
  binary: { atol: 1e-6, rtol: 1e-5 },
  unary: { atol: 1e-7, rtol: 1e-6 },
};

/** Runs the subset on `backend`; each case's error message, or null when it passed. */
export async function conformanceChecks(backend: WebGpuBackend): Promise<RouteConformance[]> {
  const target = deviceTarget(backend, WEBGPU_TOLERANCES, 'webgpu (browser)');
  const results: RouteConformance[] = [];
  for (const name of BROWSER_CONFORMANCE_CASES) {
    const found = conformanceCases.find((c) => c.name === name);
    if (found === undefined) {
      results.push({ name, error: 'no such conformance case' });
      continue;
    }
    try {
      await found.run(target);
      results.push({ name, error: null });
    } catch (error) {
      results.push({ name, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
  }
  return results;
}
