import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../rng';
import { expectClose } from '../../testing/expect-close';
import { attentionProblemOf, naiveAttention, randomAttentionInputs, stridedKeepMasks, type AttentionCase, type AttentionInputs } from '../../testing/naive-attention';
import type { AttentionForwardKernel, AttentionProblem } from '../attention';
import { attentionForwardJs } from '../js/attention';
import { createAttentionForwardWasm } from './attention';
import { loadWasmKernels } from './load-wasm-kernels';

// Shape letters: n slices, nKv key/value slices (n / groupSize), Lq queries, Lk keys, d features, dv value features.

let wasmForward: AttentionForwardKernel;

beforeAll(async () => {
  const wasm = await loadWasmKernels({ relaxedSimd: false });
  expect(wasm).not.toBeNull(); // Node runs WebAssembly SIMD: never a skip
  wasmForward = createAttentionForwardWasm(wasm!);
});

/** Runs a kernel on outputs pre-filled with NaN (so every element must be written). */
function run(kernel: AttentionForwardKernel, p: AttentionProblem, { q, k, v }: AttentionInputs) {
  const out = new Float32Array(p.n * p.queryLength * p.valueDim).fill(NaN);
  const lse = new Float32Array(p.n * p.queryLength).fill(NaN);
  kernel(p, q, k, v, out, lse);
  return { out, lse };
}

// Float32 scores and sums (the JS kernel and the reference accumulate in float64).
const FORWARD = { atol: 2e-5, rtol: 2e-4 };

function check(c: AttentionCase, seed = 1) {
  const p = attentionProblemOf(c);
  const inputs = randomAttentionInputs(p, seed);
  const got = run(wasmForward, p, inputs);
  const js = run(attentionForwardJs, p, inputs);
  const ref = naiveAttention(p, inputs);
  const label = `n=${p.n} Lq=${p.queryLength} Lk=${p.keyLength} d=${p.headDim} dv=${p.valueDim} causal=${p.causalOffset} g=${p.groupSize}`;
  expectClose(got.out, ref.out, FORWARD, `${label} out`);
  expectClose(got.lse, ref.lse, FORWARD, `${label} logSumExp`);
  expectClose(got.out, js.out, FORWARD, `${label} out vs JS kernel`);
  expectClose(got.lse, js.lse, FORWARD, `${label} logSumExp vs JS kernel`);
  return { got, ref, p };
}

describe('createAttentionForwardWasm against a naive float64 reference and the JS kernel', () => {
  it('sizes that are not multiples of the tiles: Lq, Lk ∈ {1, 3, 17, 65, 300}, d ∈ {1, 5, 8, 64}', () => {
    for (const Lq of [1, 3, 17, 65]) {
      for (const Lk of [1, 3, 17, 65, 300]) {
        for (const d of [1, 5, 8, 64]) check({ queryLength: Lq, keyLength: Lk, headDim: d, valueDim: d === 64 ? 64 : d + 2 }, Lq * 100 + Lk + d);
      }
    }
  });

  it('causal: top-left, bottom-right, positive and negative offsets, across key blocks (Lk > 256)', () => {
    for (const [Lq, Lk] of [[17, 17], [40, 300], [300, 40], [9, 600]] as const) {
      for (const offset of [0, Lk - Lq, 5, -3]) check({ queryLength: Lq, keyLength: Lk, headDim: 8, causalOffset: offset }, Lq * 1000 + Lk);
    }
  });

  it('causal with Lq > Lk bottom-right: the first Lq − Lk rows see nothing (zero output, −∞)', () => {
    const { got } = check({ queryLength: 70, keyLength: 20, headDim: 4, n: 1, causalOffset: -50 });
    for (let i = 0; i < 50; i++) {
      expect(got.lse[i]).toBe(-Infinity);
      expect(Array.from(got.out.subarray(i * 6, i * 6 + 6))).toEqual([0, 0, 0, 0, 0, 0]);
    }
  });

  it('keep masks read through broadcast strides: [Lq, Lk], [n, 1, Lk], [n, Lq, Lk], transposed storage', () => {
    const rng = new Rng(11);
    const n = 3;
    const Lq = 40;
    const Lk = 270;
    const masks = stridedKeepMasks(rng, n, Lq, Lk); // [Lq, Lk], [n, 1, Lk], [n, Lq, Lk], transposed
    for (const [keep, keepStrides] of masks) {
      check({ n, queryLength: Lq, keyLength: Lk, headDim: 5, attentionMask: keep, attentionMaskStrides: keepStrides });
      check({ n, queryLength: Lq, keyLength: Lk, headDim: 5, attentionMask: keep, attentionMaskStrides: keepStrides, causalOffset: Lk - Lq });
    }
  });

  it('grouped-query attention: groupSize 2, and 4 with one key/value slice (MQA)', () => {
    check({ n: 4, groupSize: 2, queryLength: 33, keyLength: 45, headDim: 16 });
    check({ n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, causalOffset: 51 });
    const keep = Float32Array.from({ length: 4 * 70 }, (_, idx) => (idx % 3 === 0 ? 1 : 0)); // [n, 1, Lk]
    check({ n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, attentionMask: keep, attentionMaskStrides: [70, 0, 1] });
  });

  it('fully masked rows, including a row masked only in later key blocks: zero output, −∞, no NaN', () => {
    const n = 2;
    const Lq = 37;
    const Lk = 300;
    const keep = new Float32Array(n * Lq * Lk).fill(1); // [n, Lq, Lk]
    for (const [s, i] of [[0, 3], [0, 36], [1, 0]] as const) keep.fill(0, (s * Lq + i) * Lk, (s * Lq + i + 1) * Lk);
    // Row 5 of slice 1 sees only the first key block; row 6 only the second.
    keep.fill(0, (Lq + 5) * Lk + 256, (Lq + 6) * Lk);
    keep.fill(0, (Lq + 6) * Lk, (Lq + 6) * Lk + 256);
    const { got } = check({ n, queryLength: Lq, keyLength: Lk, headDim: 6, attentionMask: keep, attentionMaskStrides: [Lq * Lk, Lk, 1] });
    for (const [s, i] of [[0, 3], [0, 36], [1, 0]] as const) {
      expect(got.lse[s * Lq + i]).toBe(-Infinity);
      expect(Array.from(got.out.subarray((s * Lq + i) * 8, (s * Lq + i + 1) * 8)).every((x) => x === 0)).toBe(true);
    }
    expect(got.out.some(Number.isNaN)).toBe(false);
  });

  it('nothing to attend at all (Lk = 0): zeros and −∞, no NaN', () => {
    const p = attentionProblemOf({ n: 1, queryLength: 3, keyLength: 0, headDim: 2 });
    const got = run(wasmForward, p, randomAttentionInputs(p, 3));
    expect(Array.from(got.out)).toEqual(new Array(12).fill(0));
    expect(Array.from(got.lse)).toEqual([-Infinity, -Infinity, -Infinity]);
  });

  it('large logits (scores ≈ ±1e4, spread O(1)): finite, within the float32 rounding of the scores', () => {
    for (const sign of [1, -1]) {
      const p = attentionProblemOf({ n: 2, queryLength: 20, keyLength: 90, headDim: 8, scale: 1 });
      const inputs = randomAttentionInputs(p, 5);
      for (let r = 0; r < inputs.q.length / 8; r++) inputs.q[r * 8] = 100;
      for (let r = 0; r < inputs.k.length / 8; r++) inputs.k[r * 8] = sign * 100;
      const got = run(wasmForward, p, inputs);
      const ref = naiveAttention(p, inputs);
      expect(got.out.every(Number.isFinite) && got.lse.every(Number.isFinite)).toBe(true);
      // A float32 score of size 1e4 is off by up to d·u·1e4 ≈ 5e-3, which moves the weights by as much (relative).
      expectClose(got.out, ref.out, { atol: 2e-2, rtol: 1e-2 }, `sign ${sign} out`);
      expectClose(got.lse, ref.lse, { atol: 1e-2, rtol: 1e-6 }, `sign ${sign} logSumExp`);
    }
  });

  it('a realistic head: Lq = Lk = 256, d = 64, causal and not', () => {
    check({ n: 2, queryLength: 256, keyLength: 256, headDim: 64, valueDim: 64 });
    check({ n: 2, queryLength: 256, keyLength: 256, headDim: 64, valueDim: 64, causalOffset: 0 });
  });
});
