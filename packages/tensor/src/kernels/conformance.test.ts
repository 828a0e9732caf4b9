import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { mul } from '../ops/binary';
import { matmul } from '../ops/matmul';
import { sum } from '../ops/reduce';
import { scaledDotProductAttention } from '../ops/scaled-dot-product-attention';
import type { ScaledDotProductAttentionOptions } from '../ops/scaled-dot-product-attention-problem';
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import {
  attentionProblemOf,
  naiveAttention,
  randomAttentionInputs,
  stridedKeepMasks,
  type AttentionCase,
  type AttentionInputs,
} from '../testing/naive-attention';
import { expectWithin, naiveBroadcast, naiveMatmul, naiveReduce, naiveSoftmax } from '../testing/naive-kernels';
import type { AttentionProblem } from './attention';
import { toHeadsFirst } from './attention-layout';
import { BinaryOp, UnaryOp } from './elementwise';
import { jsKernelSet } from './js/kernel-set';
import { ReduceOp } from './reduce';
import { getKernels, listKernelSets, registerKernelSet, resolveKernelSet, useKernelSet, type KernelSet, type Kernels } from './registry';
import { wasmKernelSet } from './wasm/kernel-set';
import { loadWasmKernels, releaseWasmKernels } from './wasm/load-wasm-kernels';

// One conformance suite for every registered kernel set: the plain TypeScript kernels, WebAssembly
// SIMD-128, relaxed SIMD (this project runs with --experimental-wasm-relaxed-simd, see vitest.config.ts)
// and SIMD-128 on 2 threads — each against naive float64 references (src/testing), and, through the
// ops, against the JS set. Shape letters: n slices, nKv key/value slices (n / groupSize), B batch,
// H heads, Lq queries, Lk keys, d features, dv value features.

const simd = await loadWasmKernels({ relaxedSimd: false });
const relaxed = await loadWasmKernels({ relaxedSimd: true });
const threaded = await loadWasmKernels({ relaxedSimd: false, threads: 2 });
// Node runs WebAssembly SIMD, validates relaxed SIMD with the flag, and starts workers: a failure, never a skip.
if (!simd || !relaxed?.relaxedSimd || threaded?.pool?.size !== 2) throw new Error('a WebAssembly kernel build did not load');
for (const set of [
  wasmKernelSet(simd, 'wasm-simd'),
  wasmKernelSet(relaxed, 'wasm-relaxed-simd'),
  wasmKernelSet(threaded, 'wasm-simd-threads-2'),
])
  registerKernelSet(set);
const registered = new Map<string, KernelSet>([
  [jsKernelSet.name, jsKernelSet],
  ...['wasm-simd', 'wasm-relaxed-simd', 'wasm-simd-threads-2'].map((name): [string, KernelSet] => [name, setNamed(name)]),
]);

function setNamed(name: string): KernelSet {
  const wasm = { 'wasm-simd': simd, 'wasm-relaxed-simd': relaxed, 'wasm-simd-threads-2': threaded }[name]!;
  return wasmKernelSet(wasm, name);
}

afterAll(() => {
  useKernelSet('js');
  releaseWasmKernels(threaded);
});

interface Tolerances {
  forward: { atol: number; rtol: number };
  gradient: { atol: number; rtol: number };
  /** Accumulates in float32 (the WebAssembly kernels) rather than float64. */
  float32: boolean;
}

const JS: Tolerances = { forward: { atol: 1e-5, rtol: 1e-4 }, gradient: { atol: 1e-4, rtol: 1e-3 }, float32: false };
const WASM: Tolerances = { forward: { atol: 2e-5, rtol: 2e-4 }, gradient: { atol: 1e-4, rtol: 1e-3 }, float32: true };

const SETS = listKernelSets().map((name) => ({
  name,
  kernels: resolveKernelSet(registered.get(name)!),
  tolerances: name === 'js' ? JS : WASM,
}));

test('every registered kernel set is under test: js, WebAssembly SIMD, relaxed SIMD, 2 threads', () => {
  expect(SETS.map((s) => s.name)).toEqual(['js', 'wasm-simd', 'wasm-relaxed-simd', 'wasm-simd-threads-2']);
});

const allZero = (a: ArrayLike<number>) => Array.from(a).every((x) => x === 0);

/** The problem of a case, with its window (the testing helper's problem has none). */
const problemOf = (c: AttentionCase): AttentionProblem => ({
  ...attentionProblemOf(c),
  ...(c.windowStart != null ? { windowStart: c.windowStart } : {}),
});

/**
 * The problem with its window written into the attention mask instead (j ≥ i + windowStart, times the
 * mask read through its strides), as [n, Lq, Lk]: what the naive reference computes the window against.
 */
function windowMaterialized(p: AttentionProblem): AttentionProblem {
  if (p.windowStart == null) return p;
  const {
    n,
    queryLength: Lq,
    keyLength: Lk,
    attentionMask,
    attentionMaskStrides: [ms, mq, mk],
    windowStart,
  } = p;
  const mask = new Float32Array(n * Lq * Lk); // [n, Lq, Lk]
  for (let s = 0; s < n; s++)
    for (let i = 0; i < Lq; i++)
      for (let j = 0; j < Lk; j++)
        mask[(s * Lq + i) * Lk + j] =
          j >= i + windowStart && (attentionMask === null || attentionMask[s * ms + i * mq + j * mk] !== 0) ? 1 : 0;
  return { ...p, windowStart: null, attentionMask: mask, attentionMaskStrides: [Lq * Lk, Lk, 1] };
}
const maxAbs = (a: Float64Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/**
 * The gradient of rebuilt weights rows (a softmax over the keys and the sink) given dWeights G, from the naive
 * reference's weights, by the chain rule written out: dS = P ⊙ (G − rowsum(G ⊙ P)) ⊙ (1 − tanh²), the sink's dS
 * = −P_sink · rowsum(G ⊙ P); dq = scale · dS K, dk = scale · dSᵀ q, dBias along the diagonals.
 */
function naiveWeightsGradient(p: AttentionProblem, inputs: AttentionInputs, rows: Int32Array, G: Float32Array) {
  const { n, queryLength: Lq, keyLength: Lk, headDim: d, scale, groupSize } = p;
  const H = p.heads ?? 1;
  const { weights } = naiveAttention(p, inputs);
  const dq = new Float64Array(inputs.q.length);
  const dk = new Float64Array(inputs.k.length);
  const dPositionBias = new Float64Array(p.positionBias ? p.positionBias.length : 0);
  const dSinks = new Float64Array(p.sinks ? H : 0);
  const R = rows.length;
  for (let s = 0; s < n; s++) {
    const [h, g] = [s % H, Math.floor(s / groupSize)];
    rows.forEach((i, r) => {
      const P = weights.subarray((s * Lq + i) * Lk, (s * Lq + i + 1) * Lk);
      const Gr = G.subarray((s * R + r) * Lk, (s * R + r + 1) * Lk);
      let dot = 0;
      let kept = 0;
      for (let j = 0; j < Lk; j++) {
        dot += P[j]! * Gr[j]!;
        kept += P[j]!;
      }
      if (p.sinks) dSinks[h]! -= (1 - kept) * dot;
      for (let j = 0; j < Lk; j++) {
        let raw = 0;
        for (let x = 0; x < d; x++) raw += inputs.q[(s * Lq + i) * d + x]! * inputs.k[(g * Lk + j) * d + x]!;
        let score = scale * raw;
        if (p.alibiSlopes) score += p.alibiSlopes[h]! * (j - i - (p.queryPositionOffset ?? 0));
        if (p.positionBias) score += p.positionBias[h * (Lq + Lk - 1) + j - i + Lq - 1]!;
        const slope = p.softcap != null ? 1 - Math.tanh(score / p.softcap) ** 2 : 1;
        const dS = P[j]! * (Gr[j]! - dot) * slope;
        if (p.positionBias) dPositionBias[h * (Lq + Lk - 1) + j - i + Lq - 1]! += dS;
        for (let x = 0; x < d; x++) {
          dq[(s * Lq + i) * d + x]! += scale * dS * inputs.k[(g * Lk + j) * d + x]!;
          dk[(g * Lk + j) * d + x]! += scale * dS * inputs.q[(s * Lq + i) * d + x]!;
        }
      }
    });
  }
  return { dq, dk, dPositionBias, dSinks };
}

describe.each(SETS)('kernel set $name', ({ name, kernels, tolerances }) => {
  /** Forward then backward on outputs pre-filled with NaN (so every element must be written). */
  function run(p: AttentionProblem, { q, k, v, dOut }: AttentionInputs, using: Readonly<Kernels> = kernels) {
    const nKv = p.n / p.groupSize;
    const out = new Float32Array(p.n * p.queryLength * p.valueDim).fill(NaN);
    const lse = new Float32Array(p.n * p.queryLength).fill(NaN);
    using.attentionForward(p, q, k, v, out, lse);
    const dq = new Float32Array(q.length).fill(NaN);
    const dk = new Float32Array(nKv * p.keyLength * p.headDim).fill(NaN);
    const dv = new Float32Array(nKv * p.keyLength * p.valueDim).fill(NaN);
    using.attentionBackward(p, q, k, v, out, lse, dOut, dq, dk, dv);
    return { out, lse, dq, dk, dv };
  }

  /** Forward and gradients against the naive reference; other sets also against the JS backward on their own forward. */
  function check(c: AttentionCase, seed = 1) {
    const p = problemOf(c);
    const inputs = randomAttentionInputs(p, seed);
    const got = run(p, inputs);
    const ref = naiveAttention(windowMaterialized(p), inputs);
    const label = `${name} n=${p.n} Lq=${p.queryLength} Lk=${p.keyLength} d=${p.headDim} dv=${p.valueDim} causal=${p.causalOffset} window=${p.windowStart} g=${p.groupSize}`;
    expectClose(got.out, ref.out, tolerances.forward, `${label} out`);
    expectClose(got.lse, ref.lse, tolerances.forward, `${label} logSumExp`);
    for (const grad of ['dq', 'dk', 'dv'] as const) expectClose(got[grad], ref[grad], tolerances.gradient, `${label} ${grad}`);
    if (name !== 'js') {
      const dq = new Float32Array(got.dq.length);
      const dk = new Float32Array(got.dk.length);
      const dv = new Float32Array(got.dv.length);
      jsKernelSet.kernels.attentionBackward(p, inputs.q, inputs.k, inputs.v, got.out, got.lse, inputs.dOut, dq, dk, dv);
      expectClose(got.dq, dq, tolerances.gradient, `${label} dq vs the JS backward on the same forward`);
      expectClose(got.dk, dk, tolerances.gradient, `${label} dk vs the JS backward on the same forward`);
      expectClose(got.dv, dv, tolerances.gradient, `${label} dv vs the JS backward on the same forward`);
    }
    return { got, ref, p, inputs };
  }

  describe('fused attention, forward and backward, against a naive float64 reference', () => {
    test('sizes off the tiles: Lq ∈ {1, 3, 17, 65, 130}, Lk ∈ {1, 3, 17, 65, 130, 300}, d ∈ {1, 5, 8, 64}', () => {
      for (const d of [1, 5, 8, 64]) {
        for (const Lq of [1, 3, 17, 65, 130]) {
          for (const Lk of [1, 3, 17, 65, 130, 300])
            check({ queryLength: Lq, keyLength: Lk, headDim: d, valueDim: d === 64 ? 33 : d + 2 }, Lq * 1000 + Lk + d);
        }
      }
    });

    test('value sizes other than the key size: dv ∈ {1, 5, 33, 64, 70} with d = 16', () => {
      for (const dv of [1, 5, 33, 64, 70]) check({ queryLength: 70, keyLength: 90, headDim: 16, valueDim: dv }, dv);
    });

    test('causal: top-left, bottom-right, positive and negative offsets, across query and key blocks', () => {
      const pairs = [
        [1, 1],
        [3, 5],
        [17, 17],
        [65, 130],
        [130, 65],
        [33, 100],
        [100, 33],
        [130, 130],
        [40, 300],
        [300, 40],
        [9, 600],
      ] as const;
      for (const [Lq, Lk] of pairs) {
        for (const offset of new Set([0, Lk - Lq, 5, -3]))
          check({ queryLength: Lq, keyLength: Lk, headDim: 8, causalOffset: offset }, Lq * 1000 + Lk);
      }
    });

    test('causal with Lq > Lk bottom-right: the first Lq − Lk rows see nothing (zero output, −∞, no gradient)', () => {
      const { got } = check({ queryLength: 170, keyLength: 20, headDim: 4, n: 1, causalOffset: -150 });
      for (let i = 0; i < 150; i++) {
        expect(got.lse[i]).toBe(-Infinity);
        expect(allZero(got.out.subarray(i * 6, i * 6 + 6))).toBe(true);
        expect(allZero(got.dq.subarray(i * 4, i * 4 + 4))).toBe(true);
      }
    });

    test('windows (keys i + windowStart ≤ j ≤ i + causalOffset): sliding and local, odd sizes, across query and key blocks', () => {
      const pairs = [
        [1, 1],
        [17, 17],
        [65, 130],
        [130, 65],
        [100, 300],
        [300, 40],
        [9, 600],
      ] as const;
      for (const [Lq, Lk] of pairs) {
        const end = Lk - Lq; // bottom-right aligned
        for (const W of [1, 5, 64, 100]) {
          check({ queryLength: Lq, keyLength: Lk, headDim: 8, causalOffset: end, windowStart: end - W + 1 }, Lq * 1000 + Lk + W); // causal sliding window of W keys
          check({ queryLength: Lq, keyLength: Lk, headDim: 8, causalOffset: W, windowStart: -W }, Lq * 1000 + Lk + W); // local window, W keys each side
        }
        check({ queryLength: Lq, keyLength: Lk, headDim: 5, windowStart: 3 }, Lq + Lk); // a lower bound alone
      }
    });

    test('windows with masks, GQA and fully masked rows (zero output, −∞, no gradient)', () => {
      const rng = new Rng(12);
      const [n, Lq, Lk] = [4, 70, 150];
      for (const [attentionMask, attentionMaskStrides] of stridedKeepMasks(rng, n, Lq, Lk)) {
        check({
          n,
          queryLength: Lq,
          keyLength: Lk,
          headDim: 5,
          attentionMask,
          attentionMaskStrides,
          causalOffset: Lk - Lq,
          windowStart: Lk - Lq - 40,
        });
        check({
          n,
          groupSize: 2,
          queryLength: Lq,
          keyLength: Lk,
          headDim: 8,
          attentionMask,
          attentionMaskStrides,
          causalOffset: 20,
          windowStart: -20,
        });
      }
      check({ n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, causalOffset: 51, windowStart: 30 });
      // Row i sees keys [i + 61, i + 70] ∩ [0, 80): rows 19 and after see none.
      const { got } = check({ n: 1, queryLength: 30, keyLength: 80, headDim: 4, causalOffset: 70, windowStart: 61 });
      for (let i = 19; i < 30; i++) {
        expect(got.lse[i]).toBe(-Infinity);
        expect(allZero(got.out.subarray(i * 6, i * 6 + 6))).toBe(true);
        expect(allZero(got.dq.subarray(i * 4, i * 4 + 4))).toBe(true);
      }
    });

    test('attention masks read through broadcast strides: [Lq, Lk], [n, 1, Lk], [n, Lq, Lk], transposed storage', () => {
      const rng = new Rng(11);
      const [n, Lq, Lk] = [3, 70, 270];
      for (const [attentionMask, attentionMaskStrides] of stridedKeepMasks(rng, n, Lq, Lk)) {
        check({ n, queryLength: Lq, keyLength: Lk, headDim: 5, attentionMask, attentionMaskStrides });
        check({ n, queryLength: Lq, keyLength: Lk, headDim: 5, attentionMask, attentionMaskStrides, causalOffset: Lk - Lq });
      }
    });

    test('grouped-query attention: groupSize 2, and 4 with one key/value slice (MQA), causal and masked', () => {
      check({ n: 4, groupSize: 2, queryLength: 19, keyLength: 70, headDim: 8 });
      check({ n: 4, groupSize: 2, queryLength: 33, keyLength: 145, headDim: 16 });
      check({ n: 8, groupSize: 2, queryLength: 70, keyLength: 70, headDim: 8, causalOffset: 0 });
      check({ n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, causalOffset: 51 });
      const attentionMask = Float32Array.from({ length: 4 * 70 }, (_, idx) => (idx % 3 === 0 ? 1 : 0)); // [n, 1, Lk] over query slices
      check({ n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, attentionMask, attentionMaskStrides: [70, 0, 1] });
    });

    test('fully masked rows, rows masked in later key blocks only, a key no row sees: zeros, −∞, no NaN', () => {
      const [n, Lq] = [2, 77];
      for (const [Lk, firstBlock] of [
        [150, 64],
        [300, 256],
      ] as const) {
        const attentionMask = new Float32Array(n * Lq * Lk).fill(1); // [n, Lq, Lk]
        for (let s = 0; s < n; s++) for (let i = 0; i < Lq; i++) attentionMask[(s * Lq + i) * Lk + Lk - 1] = 0; // the last key: nobody
        const masked = [
          [0, 3],
          [0, 76],
          [1, 0],
          [1, 65],
        ] as const;
        for (const [s, i] of masked) attentionMask.fill(0, (s * Lq + i) * Lk, (s * Lq + i + 1) * Lk);
        attentionMask.fill(0, (Lq + 5) * Lk + firstBlock, (Lq + 6) * Lk); // row 5 of slice 1 sees only the first key block
        attentionMask.fill(0, (Lq + 6) * Lk, (Lq + 6) * Lk + firstBlock); // row 6 only the later ones
        const { got } = check({ n, queryLength: Lq, keyLength: Lk, headDim: 6, attentionMask, attentionMaskStrides: [Lq * Lk, Lk, 1] });
        for (const [s, i] of masked) {
          expect(got.lse[s * Lq + i]).toBe(-Infinity);
          expect(allZero(got.out.subarray((s * Lq + i) * 8, (s * Lq + i + 1) * 8))).toBe(true);
          expect(allZero(got.dq.subarray((s * Lq + i) * 6, (s * Lq + i + 1) * 6))).toBe(true);
        }
        for (let s = 0; s < n; s++) {
          expect(allZero(got.dk.subarray((s * Lk + Lk - 1) * 6, (s * Lk + Lk) * 6))).toBe(true);
          expect(allZero(got.dv.subarray((s * Lk + Lk - 1) * 8, (s * Lk + Lk) * 8))).toBe(true);
        }
        for (const a of [got.out, got.dq, got.dk, got.dv]) expect(a.some(Number.isNaN)).toBe(false);
      }
    });

    test('nothing to attend (Lk = 0), no queries (Lq = 0), empty features (d = 0, dv = 0): zeros, −∞, no NaN', () => {
      const none = attentionProblemOf({ n: 1, queryLength: 3, keyLength: 0, headDim: 2 });
      const got = run(none, randomAttentionInputs(none, 3));
      expect(Array.from(got.out)).toEqual(new Array(12).fill(0));
      expect(Array.from(got.lse)).toEqual([-Infinity, -Infinity, -Infinity]);
      expect(Array.from(got.dq)).toEqual(new Array(6).fill(0));
      const noQueries = attentionProblemOf({ n: 2, queryLength: 0, keyLength: 5, headDim: 3 });
      const empty = run(noQueries, randomAttentionInputs(noQueries, 4));
      expect(allZero(empty.dk) && allZero(empty.dv)).toBe(true);
      check({ queryLength: 9, keyLength: 11, headDim: 0, valueDim: 3 });
      check({ queryLength: 9, keyLength: 11, headDim: 3, valueDim: 0 });
    });

    test('large logits (scores ≈ ±1e4, spread O(1)): finite, within the rounding of the scores', () => {
      for (const sign of [1, -1]) {
        const p = attentionProblemOf({ n: 2, queryLength: 20, keyLength: 90, headDim: 8, scale: 1 });
        const inputs = randomAttentionInputs(p, 5);
        // A shared first feature of size 100 puts every score at sign·1e4 + O(1), like sdpa_large_logits_offset.
        for (let r = 0; r < inputs.q.length / 8; r++) inputs.q[r * 8] = 100;
        for (let r = 0; r < inputs.k.length / 8; r++) inputs.k[r * 8] = sign * 100;
        const got = run(p, inputs);
        const ref = naiveAttention(p, inputs);
        for (const a of [got.out, got.lse, got.dq, got.dk, got.dv]) expect(a.every(Number.isFinite)).toBe(true);
        // Float32 scores of size 1e4 are off by up to d·u·1e4 ≈ 5e-3, which moves the weights by as much (relative);
        // float64 scores only suffer the float32 log-sum-exp the backward recomputes the weights from (ulp(1e4) ≈ 1e-3).
        const [out, lse, grad] = tolerances.float32
          ? [{ atol: 2e-2, rtol: 1e-2 }, { atol: 1e-2, rtol: 1e-6 }, 2e-2]
          : [tolerances.forward, { atol: 0, rtol: 1e-7 }, 2e-3];
        expectClose(got.out, ref.out, out, `sign ${sign} out`);
        expectClose(got.lse, ref.lse, lse, `sign ${sign} logSumExp`);
        for (const g of ['dq', 'dk', 'dv'] as const)
          expectClose(got[g], ref[g], { atol: grad * maxAbs(ref[g]), rtol: grad }, `sign ${sign} ${g}`);
      }
    });

    test('large logits with a wide spread (near one-hot rows, |scores| up to ~1e4): finite and correct', () => {
      const p = attentionProblemOf({ n: 1, queryLength: 9, keyLength: 70, headDim: 8, scale: 1500 });
      const inputs = randomAttentionInputs(p, 8);
      const got = run(p, inputs);
      const ref = naiveAttention(p, inputs);
      expect(ref.lse.some((x) => Math.abs(x) > 5e3)).toBe(true);
      expectClose(got.out, ref.out, tolerances.float32 ? { atol: 2e-2, rtol: 1e-2 } : tolerances.forward, 'out');
      expectClose(got.lse, ref.lse, tolerances.float32 ? { atol: 1e-2, rtol: 1e-6 } : { atol: 0, rtol: 1e-7 }, 'logSumExp');
      for (const a of [got.dq, got.dk, got.dv]) expect(a.every(Number.isFinite)).toBe(true);
    });

    test('a realistic head: Lq = Lk = 256, d = 64, causal and not', () => {
      check({ n: 2, queryLength: 256, keyLength: 256, headDim: 64, valueDim: 64 });
      check({ n: 2, queryLength: 256, keyLength: 256, headDim: 64, valueDim: 64, causalOffset: 0 });
    });

    test("layout 'sequence-first' ([B, L, H, ·], GQA included): the heads-first results, moved", () => {
      for (const [B, H, groupSize, causalOffset, windowStart] of [
        [2, 3, 1, null, null],
        [1, 4, 2, 0, null],
        [2, 4, 4, 7, null],
        [1, 4, 2, 30, -10],
      ] as const) {
        const [Lq, Lk, d, dv] = [70, 93, 8, 12];
        const Hkv = H / groupSize;
        const headsFirst = problemOf({
          n: B * H,
          queryLength: Lq,
          keyLength: Lk,
          headDim: d,
          valueDim: dv,
          groupSize,
          causalOffset,
          windowStart,
        });
        const sequenceFirst: AttentionProblem = { ...headsFirst, layout: 'sequence-first', heads: H };
        const inputs = randomAttentionInputs(sequenceFirst, B * 100 + H); // read as [B, L, H, ·]
        const moved = {
          q: toHeadsFirst(inputs.q, B, H, Lq, d),
          k: toHeadsFirst(inputs.k, B, Hkv, Lk, d),
          v: toHeadsFirst(inputs.v, B, Hkv, Lk, dv),
          dOut: toHeadsFirst(inputs.dOut, B, H, Lq, dv),
        };
        const expected = naiveAttention(windowMaterialized(headsFirst), moved);
        const got = run(sequenceFirst, inputs);
        const label = `B=${B} H=${H} g=${groupSize}`;
        expectClose(toHeadsFirst(got.out, B, H, Lq, dv), expected.out, tolerances.forward, `${label} out`);
        expectClose(got.lse, expected.lse, tolerances.forward, `${label} logSumExp`);
        expectClose(toHeadsFirst(got.dq, B, H, Lq, d), expected.dq, tolerances.gradient, `${label} dq`);
        expectClose(toHeadsFirst(got.dk, B, Hkv, Lk, d), expected.dk, tolerances.gradient, `${label} dk`);
        expectClose(toHeadsFirst(got.dv, B, Hkv, Lk, dv), expected.dv, tolerances.gradient, `${label} dv`);
      }
    });

    test('attention weights of chosen rows from the log-sum-exp: the naive softmax weights, masked and causal', () => {
      const rng = new Rng(31);
      const [n, Lq, Lk] = [3, 20, 37];
      const [attentionMask, attentionMaskStrides] = stridedKeepMasks(rng, n, Lq, Lk)[2]!;
      const cases = [
        { causalOffset: 2 },
        { attentionMask, attentionMaskStrides },
        { groupSize: 3 },
        { causalOffset: 4, windowStart: -6, attentionMask, attentionMaskStrides },
        { causalOffset: 30, windowStart: 25 },
      ];
      for (const c of cases as Partial<AttentionCase>[]) {
        const p = problemOf({ n, queryLength: Lq, keyLength: Lk, headDim: 7, ...c });
        const inputs = randomAttentionInputs(p, 9);
        const { lse } = run(p, inputs);
        const rows = Int32Array.from([0, 5, 19]);
        const weights = new Float32Array(n * rows.length * Lk).fill(NaN);
        kernels.attentionWeights(p, inputs.q, inputs.k, lse, rows, weights);
        const ref = naiveAttention(windowMaterialized(p), inputs).weights; // [n, Lq, Lk]
        const expected = new Float64Array(weights.length);
        for (let s = 0; s < n; s++)
          rows.forEach((i, r) => expected.set(ref.subarray((s * Lq + i) * Lk, (s * Lq + i + 1) * Lk), (s * rows.length + r) * Lk));
        expectClose(weights, expected, tolerances.forward, 'weights');
      }
    });

    /** A variant problem of B·H slices with random per-head parameters: ALiBi slopes, a bias table, sinks, segments. */
    function variantProblem(
      B: number,
      H: number,
      base: Partial<AttentionCase> & { queryLength: number; keyLength: number; headDim: number },
      parts: readonly ('alibi' | 'bias' | 'softcap' | 'widecap' | 'sinks' | 'segments')[],
      rng: Rng,
    ): AttentionProblem {
      const { queryLength: Lq, keyLength: Lk } = base;
      const uniform = (size: number, lo: number, hi: number) => Float32Array.from({ length: size }, () => lo + (hi - lo) * rng.uniform());
      const segmentsOf = (L: number) => Int32Array.from({ length: B * L }, (_, x) => Math.floor(((x % L) * 3) / L)); // three runs per row
      return problemOf({
        n: B * H,
        heads: H,
        ...base,
        ...(parts.includes('alibi') ? { alibiSlopes: uniform(H, 0.05, 0.6), queryPositionOffset: Lk - Lq } : {}),
        ...(parts.includes('bias') ? { positionBias: uniform(H * (Lq + Lk - 1), -1.5, 1.5) } : {}),
        ...(parts.includes('softcap') ? { softcap: 1.5, scale: 1 } : {}), // raw logits ~ N(0, d): the cap bends them
        ...(parts.includes('widecap') ? { softcap: 40, scale: 1 } : {}), // |logits| ≪ cap: the kernels' polynomial branch
        ...(parts.includes('sinks') ? { sinks: uniform(H, -1, 2) } : {}),
        ...(parts.includes('segments') ? { querySegments: segmentsOf(Lq), keySegments: segmentsOf(Lk) } : {}),
      });
    }

    /** Forward, backward (with the variant gradients) and weights against the naive reference. */
    function checkVariant(p: AttentionProblem, label: string, seed: number) {
      const inputs = randomAttentionInputs(p, seed);
      const H = p.heads ?? 1;
      const grads = {
        positionBias: p.positionBias ? new Float32Array(p.positionBias.length).fill(NaN) : null,
        sinks: p.sinks ? new Float32Array(H).fill(NaN) : null,
      };
      const out = new Float32Array(p.n * p.queryLength * p.valueDim).fill(NaN);
      const lse = new Float32Array(p.n * p.queryLength).fill(NaN);
      kernels.attentionForward(p, inputs.q, inputs.k, inputs.v, out, lse);
      const dq = new Float32Array(inputs.q.length).fill(NaN);
      const dk = new Float32Array(inputs.k.length).fill(NaN);
      const dv = new Float32Array(inputs.v.length).fill(NaN);
      kernels.attentionBackward(p, inputs.q, inputs.k, inputs.v, out, lse, inputs.dOut, dq, dk, dv, grads);
      const ref = naiveAttention(p, inputs);
      expectClose(out, ref.out, tolerances.forward, `${name} ${label} out`);
      expectClose(lse, ref.lse, tolerances.forward, `${name} ${label} logSumExp`);
      expectClose(dq, ref.dq, tolerances.gradient, `${name} ${label} dq`);
      expectClose(dk, ref.dk, tolerances.gradient, `${name} ${label} dk`);
      expectClose(dv, ref.dv, tolerances.gradient, `${name} ${label} dv`);
      if (grads.positionBias) expectClose(grads.positionBias, ref.dPositionBias, tolerances.gradient, `${name} ${label} dPositionBias`);
      if (grads.sinks) expectClose(grads.sinks, ref.dSinks, tolerances.gradient, `${name} ${label} dSinks`);
      // Weights on request, from the same log-sum-exp, and their gradient (dWeights = a random G).
      const rows = Int32Array.from([0, Math.floor(p.queryLength / 2), p.queryLength - 1]);
      const R = rows.length;
      const weights = new Float32Array(p.n * R * p.keyLength).fill(NaN);
      kernels.attentionWeights(p, inputs.q, inputs.k, lse, rows, weights);
      const expected = new Float64Array(weights.length);
      for (let s = 0; s < p.n; s++)
        rows.forEach((i, r) =>
          expected.set(
            ref.weights.subarray((s * p.queryLength + i) * p.keyLength, (s * p.queryLength + i + 1) * p.keyLength),
            (s * R + r) * p.keyLength,
          ),
        );
      expectClose(weights, expected, tolerances.forward, `${name} ${label} weights`);
      const G = randomAttentionInputs({ ...p, valueDim: p.keyLength }, seed + 1).dOut.subarray(0, weights.length); // [n, R, Lk] of N(0, 1)
      const wq = new Float32Array(inputs.q.length);
      const wk = new Float32Array(inputs.k.length);
      const wGrads = { positionBias: grads.positionBias?.fill(0) ?? null, sinks: grads.sinks?.fill(0) ?? null };
      kernels.attentionWeightsBackward(p, inputs.q, inputs.k, rows, weights, G, wq, wk, wGrads);
      const naive = naiveWeightsGradient(p, inputs, rows, G);
      expectClose(wq, naive.dq, tolerances.gradient, `${name} ${label} weights dq`);
      expectClose(wk, naive.dk, tolerances.gradient, `${name} ${label} weights dk`);
      if (wGrads.positionBias)
        expectClose(wGrads.positionBias, naive.dPositionBias, tolerances.gradient, `${name} ${label} weights dPositionBias`);
      if (wGrads.sinks) expectClose(wGrads.sinks, naive.dSinks, tolerances.gradient, `${name} ${label} weights dSinks`);
    }

    test('variants: ALiBi, relative bias, softcap, sinks, segments, alone and combined, with causal, windows and GQA', () => {
      const rng = new Rng(77);
      const parts = [
        ['alibi'],
        ['bias'],
        ['softcap'],
        ['widecap'],
        ['sinks'],
        ['segments'],
        ['alibi', 'softcap', 'sinks'],
        ['bias', 'softcap', 'segments', 'sinks'],
      ] as const;
      const shapes = [
        { queryLength: 9, keyLength: 9, headDim: 4, causalOffset: 0 },
        { queryLength: 70, keyLength: 93, headDim: 8, valueDim: 5, causalOffset: 23, windowStart: 23 - 30 },
        { queryLength: 37, keyLength: 130, headDim: 6, groupSize: 2 },
      ];
      let seed = 0;
      for (const part of parts)
        for (const shape of shapes)
          checkVariant(variantProblem(2, 4, shape, part, rng), `${part.join('+')} ${JSON.stringify(shape)}`, ++seed);
    });

    test('variants with sinks: a fully masked row gives out 0, logSumExp = the sink, and no gradient', () => {
      const rng = new Rng(78);
      const p = variantProblem(1, 2, { queryLength: 6, keyLength: 6, headDim: 4, causalOffset: -1 }, ['sinks', 'alibi'], rng); // row 0 sees nothing
      checkVariant(p, 'fully masked row 0', 5);
    });

    test("variants in layout 'sequence-first' ([B, L, H, ·], GQA): the heads-first results, moved", () => {
      const rng = new Rng(79);
      const [B, H, groupSize, Lq, Lk, d, dv] = [2, 4, 2, 40, 70, 8, 6];
      const Hkv = H / groupSize;
      const headsFirst = variantProblem(
        B,
        H,
        { queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, groupSize, causalOffset: 30 },
        ['alibi', 'bias', 'softcap', 'sinks', 'segments'],
        rng,
      );
      const sequenceFirst: AttentionProblem = { ...headsFirst, layout: 'sequence-first' };
      const inputs = randomAttentionInputs(sequenceFirst, 3); // read as [B, L, H, ·]
      const moved = {
        q: toHeadsFirst(inputs.q, B, H, Lq, d),
        k: toHeadsFirst(inputs.k, B, Hkv, Lk, d),
        v: toHeadsFirst(inputs.v, B, Hkv, Lk, dv),
        dOut: toHeadsFirst(inputs.dOut, B, H, Lq, dv),
      };
      const expected = naiveAttention(headsFirst, moved);
      const got = run(sequenceFirst, inputs);
      expectClose(toHeadsFirst(got.out, B, H, Lq, dv), expected.out, tolerances.forward, 'out');
      expectClose(got.lse, expected.lse, tolerances.forward, 'logSumExp');
      expectClose(toHeadsFirst(got.dq, B, H, Lq, d), expected.dq, tolerances.gradient, 'dq');
      expectClose(toHeadsFirst(got.dk, B, Hkv, Lk, d), expected.dk, tolerances.gradient, 'dk');
      expectClose(toHeadsFirst(got.dv, B, Hkv, Lk, dv), expected.dv, tolerances.gradient, 'dv');
      const grads = { positionBias: new Float32Array(H * (Lq + Lk - 1)).fill(NaN), sinks: new Float32Array(H).fill(NaN) };
      const [dq, dk, dvGrad] = [new Float32Array(got.dq.length), new Float32Array(got.dk.length), new Float32Array(got.dv.length)];
      kernels.attentionBackward(sequenceFirst, inputs.q, inputs.k, inputs.v, got.out, got.lse, inputs.dOut, dq, dk, dvGrad, grads);
      expectClose(grads.positionBias, expected.dPositionBias, tolerances.gradient, 'dPositionBias');
      expectClose(grads.sinks, expected.dSinks, tolerances.gradient, 'dSinks');
    });
  });

  describe('matmul against a float64 reference with a float32 error bound', () => {
    const FLAGS = [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const;
    const SIZES = [1, 3, 5, 7, 17];
    const SHAPES = [
      ...SIZES.flatMap((m) => SIZES.map((n) => [m, n, SIZES[(m + n) % SIZES.length]!] as const)),
      [64, 64, 64],
      [100, 1, 100],
      [1, 100, 1],
      [130, 257, 96],
      [5, 9, 300], // k past one packed block (KC = 256)
      [7, 1030, 3], // n past one packed block (NC = 1024)
      [2, 3, 1],
      [1030, 70, 300], // rows over both threads
    ] as const;

    /** A buffer of `size` random values (float32), with `pad` garbage values before it and 3 after. */
    function buffer(pad: number, size: number, rng: Rng): Float32Array {
      return Float32Array.from({ length: pad + size + 3 }, () => rng.normal());
    }

    test.each(FLAGS)(
      'transposeA %s, transposeB %s: tile edges ±1, primes, blocks; nothing outside out is touched',
      (transposeA, transposeB) => {
        for (const [m, n, k] of SHAPES) {
          const rng = new Rng(m * 1000 + n * 10 + k);
          const [ao, bo, oo] = [5, 2, 7];
          const a = buffer(ao, m * k, rng);
          const b = buffer(bo, k * n, rng);
          const out = new Float32Array(oo + m * n + 4).fill(NaN); // every written cell must be overwritten
          kernels.matmul(a, ao, b, bo, out, oo, m, n, k, transposeA, transposeB);
          const { value, bound } = naiveMatmul(a, ao, b, bo, m, n, k, transposeA, transposeB);
          expectWithin(out.subarray(oo, oo + m * n), value, bound, `${m}×${n}×${k}`);
          expect(Array.from(out.subarray(0, oo)).every(Number.isNaN)).toBe(true);
          expect(Array.from(out.subarray(oo + m * n)).every(Number.isNaN)).toBe(true);
        }
      },
    );

    /**
     * The float64 reference of bias + op(A)·op(B) with its error bound: the product of op(A) with a column
     * of ones appended and op(B) with the bias appended as a last row (k + 1 terms, the bias one of them).
     */
    function naiveBiasedMatmul(
      a: Float32Array,
      ao: number,
      b: Float32Array,
      bo: number,
      bias: Float32Array,
      m: number,
      n: number,
      k: number,
      transposeA: boolean,
      transposeB: boolean,
    ) {
      const augmentedA = new Float32Array(m * (k + 1)); // [m, k + 1]
      const augmentedB = new Float32Array((k + 1) * n); // [k + 1, n]
      for (let i = 0; i < m; i++) {
        for (let p = 0; p < k; p++) augmentedA[i * (k + 1) + p] = transposeA ? a[ao + p * m + i]! : a[ao + i * k + p]!;
        augmentedA[i * (k + 1) + k] = 1;
      }
      for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) augmentedB[p * n + j] = transposeB ? b[bo + j * k + p]! : b[bo + p * n + j]!;
      augmentedB.set(bias.subarray(0, n), k * n);
      return naiveMatmul(augmentedA, 0, augmentedB, 0, m, n, k + 1, false, false);
    }

    test.each(FLAGS)(
      'transposeA %s, transposeB %s, with a bias added to every row: the same shapes, k = 0 included',
      (transposeA, transposeB) => {
        for (const [m, n, k] of [...SHAPES, [3, 5, 0], [13, 9, 0]] as const) {
          const rng = new Rng(m * 1000 + n * 10 + k + 7);
          const [ao, bo, oo] = [3, 6, 1];
          const a = buffer(ao, m * k, rng);
          const b = buffer(bo, k * n, rng);
          const bias = buffer(0, n, rng); // [n] and 3 values past it that must not be read into out
          const out = new Float32Array(oo + m * n + 4).fill(NaN);
          kernels.matmul(a, ao, b, bo, out, oo, m, n, k, transposeA, transposeB, bias);
          const { value, bound } = naiveBiasedMatmul(a, ao, b, bo, bias, m, n, k, transposeA, transposeB);
          expectWithin(out.subarray(oo, oo + m * n), value, bound, `${m}×${n}×${k} + bias`);
          expect(Array.from(out.subarray(0, oo)).every(Number.isNaN)).toBe(true);
          expect(Array.from(out.subarray(oo + m * n)).every(Number.isNaN)).toBe(true);
        }
      },
    );

    test('a bias of null or undefined is no bias', () => {
      const rng = new Rng(11);
      const [m, n, k] = [7, 10, 5];
      const a = buffer(0, m * k, rng);
      const b = buffer(0, k * n, rng);
      const without = new Float32Array(m * n);
      kernels.matmul(a, 0, b, 0, without, 0, m, n, k, false, true);
      for (const bias of [null, undefined]) {
        const out = new Float32Array(m * n).fill(NaN);
        kernels.matmul(a, 0, b, 0, out, 0, m, n, k, false, true, bias);
        expect(Array.from(out)).toEqual(Array.from(without));
      }
    });

    test('overwrites (does not accumulate into) the output, also after a larger product grew the memory', () => {
      const rng = new Rng(3);
      const big = buffer(0, 700 * 700, rng);
      kernels.matmul(big, 0, big, 0, new Float32Array(700 * 700), 0, 700, 700, 700, false, true);
      const a = new Float32Array([1, 2, 3, 4]); // [2, 2]
      const b = new Float32Array([5, 6, 7, 8]); // [2, 2]
      for (const [ta, tb] of FLAGS) {
        const out = new Float32Array(4).fill(1000);
        kernels.matmul(a, 0, b, 0, out, 0, 2, 2, 2, ta, tb);
        expect(Array.from(out)).toEqual(Array.from(naiveMatmul(a, 0, b, 0, 2, 2, 2, ta, tb).value));
      }
    });

    test('NaN and Infinity propagate the same way under every transpose flag (0 · ∞ = NaN)', () => {
      // A = [[0, 1]], B = [[∞, 1], [2, NaN]] (logical [k, n]); out = [0·∞ + 1·2, 0·1 + 1·NaN] = [NaN, NaN]
      const a = new Float32Array([0, 1]); // [1, 2], same storage either way (m = 1)
      const b = new Float32Array([Infinity, 1, 2, NaN]); // [2, 2]
      const bT = new Float32Array([Infinity, 2, 1, NaN]); // stored [n, k]
      for (const [ta, tb] of FLAGS) {
        const out = new Float32Array(2);
        kernels.matmul(a, 0, tb ? bT : b, 0, out, 0, 1, 2, 2, ta, tb);
        expect(Array.from(out)).toEqual([NaN, NaN]);
      }
    });

    test('k = 0 writes zeros; m = 0 or n = 0 writes nothing', () => {
      const out = new Float32Array(6).fill(NaN);
      for (const tb of [false, true]) {
        out.fill(NaN);
        kernels.matmul(new Float32Array(0), 0, new Float32Array(0), 0, out, 0, 2, 3, 0, false, tb);
        expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
      }
      out.fill(NaN);
      kernels.matmul(new Float32Array(3), 0, new Float32Array(0), 0, out, 0, 0, 3, 1, false, true);
      kernels.matmul(new Float32Array(0), 0, new Float32Array(3), 0, out, 0, 2, 0, 1, true, false);
      expect(Array.from(out).every(Number.isNaN)).toBe(true);
    });
  });

  describe('softmax, reductions and elementwise kernels against naive references', () => {
    const rng = new Rng(41);
    const VIEWS = [
      [1, 1, 1],
      [1, 7, 1],
      [3, 13, 1],
      [2, 5, 3],
      [1, 1, 17],
      [4, 65, 2],
    ] as const; // [outer, n, inner]

    test('softmax and log-softmax along the middle axis; a fully masked (all −∞) row is 0 (log: −∞), never NaN', () => {
      for (const [outer, n, inner] of VIEWS) {
        const x = Float32Array.from({ length: outer * n * inner }, () => 3 * rng.normal());
        if (n > 1) for (let j = 0; j < n; j++) x[j * inner] = -Infinity; // row (0, 0) fully masked
        for (const log of [false, true]) {
          const out = new Float32Array(x.length).fill(NaN);
          kernels.softmax(x, outer, n, inner, out, log);
          expectClose(out, naiveSoftmax(x, outer, n, inner, log), { atol: 1e-6, rtol: 1e-5 }, `[${outer}, ${n}, ${inner}] log=${log}`);
        }
      }
    });

    test('sum, max and min along the middle axis (NaN wins max and min)', () => {
      for (const [outer, n, inner] of VIEWS) {
        const x = Float32Array.from({ length: outer * n * inner }, () => rng.normal());
        if (x.length > 4) x[3] = NaN;
        for (const [op, kind] of [
          [ReduceOp.Sum, 'sum'],
          [ReduceOp.Max, 'max'],
          [ReduceOp.Min, 'min'],
        ] as const) {
          const out = new Float32Array(outer * inner).fill(12345);
          kernels.reduceAxis(op, x, outer, n, inner, out);
          expectClose(out, naiveReduce(kind, x, outer, n, inner), { atol: 1e-6, rtol: 1e-6 }, `${kind} [${outer}, ${n}, ${inner}]`);
        }
      }
    });

    test('binary ops with broadcasting (scalar, row, column, both ways) and every unary op', () => {
      const binary: [BinaryOp, (x: number, y: number) => number][] = [
        [BinaryOp.Add, (x, y) => x + y],
        [BinaryOp.Sub, (x, y) => x - y],
        [BinaryOp.Mul, (x, y) => x * y],
        [BinaryOp.Div, (x, y) => x / y],
        [BinaryOp.Pow, (x, y) => Math.pow(Math.abs(x), y)],
        [BinaryOp.Maximum, (x, y) => Math.max(x, y)],
      ];
      const shapes: [number[], number[], number[]][] = [
        [[], [], []],
        [[7], [7], [7]],
        [[3, 5], [1], [3, 5]],
        [
          [3, 1],
          [1, 5],
          [3, 5],
        ],
        [
          [2, 1, 5],
          [3, 1],
          [2, 3, 5],
        ],
      ];
      const strides = (shape: number[], out: number[]) => {
        const result = new Array<number>(out.length).fill(0);
        let step = 1;
        for (let d = shape.length - 1; d >= 0; d--) {
          result[d + out.length - shape.length] = shape[d] === 1 ? 0 : step;
          step *= shape[d]!;
        }
        return result;
      };
      for (const [aShape, bShape, outShape] of shapes) {
        const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
        const a = Float32Array.from({ length: size(aShape) }, () => rng.normal());
        const b = Float32Array.from({ length: size(bShape) }, () => rng.normal());
        for (const [op, f] of binary) {
          const base = op === BinaryOp.Pow ? a.map(Math.abs) : a;
          const out = new Float32Array(size(outShape)).fill(NaN);
          kernels.binary(op, base, strides(aShape, outShape), b, strides(bShape, outShape), outShape, out);
          expectClose(
            out,
            naiveBroadcast(f, base, aShape, b, bShape, outShape),
            { atol: 1e-6, rtol: 1e-5 },
            `op ${op} ${aShape} ${bShape}`,
          );
        }
      }
      const x = Float32Array.from([-1000, -3.5, -1, -0, 0, 0.25, 2, 80, 1000, NaN]);
      const unary: [UnaryOp, (v: number) => number][] = [
        [UnaryOp.Neg, (v) => -v],
        [UnaryOp.Exp, Math.exp],
        [UnaryOp.Log, Math.log],
        [UnaryOp.Tanh, Math.tanh],
        [UnaryOp.Sigmoid, (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))],
        [UnaryOp.Relu, (v) => (v > 0 ? v : 0)],
        [UnaryOp.Sqrt, Math.sqrt],
        [UnaryOp.Abs, Math.abs],
      ];
      for (const [op, f] of unary) {
        const out = new Float32Array(x.length).fill(12345);
        kernels.unary(op, x, out);
        expectClose(out, Array.from(x, f), { atol: 1e-7, rtol: 1e-6 }, `unary op ${op}`);
      }
    });
  });

  describe('through the ops with the set in use: the same results as the JS set', () => {
    afterEach(() => useKernelSet('js'));

    /** Runs `fn` once with the JS set and once with this one. */
    function both<T>(fn: () => T): [T, T] {
      useKernelSet('js');
      const js = fn();
      useKernelSet(name);
      expect(getKernels().attentionForward).toBe(kernels.attentionForward);
      const here = fn();
      useKernelSet('js');
      return [js, here];
    }

    test('matmul: broadcast batch dims and gradients under every transpose flag', () => {
      const rng = new Rng(11);
      for (const [transposeA, transposeB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const [m, n, k] = [9, 13, 21];
        const a = tensor(
          Array.from({ length: 2 * m * k }, () => rng.normal()),
          transposeA ? [2, 1, k, m] : [2, 1, m, k],
        ); // [2, 1, m, k]
        const b = tensor(
          Array.from({ length: 3 * k * n }, () => rng.normal()),
          transposeB ? [3, n, k] : [3, k, n],
        ); // [3, k, n]
        const [js, here] = both(() => matmul(a, b, { transposeA, transposeB })); // [2, 3, m, n]
        expect(here.shape).toEqual([2, 3, m, n]);
        expectClose(here.data, js.data, { atol: 1e-5, rtol: 1e-5 });
        const weights = tensor(
          Array.from({ length: 2 * 7 * 10 }, () => rng.normal()),
          [2, 7, 10],
        );
        const aData = Array.from({ length: 2 * 7 * 19 }, () => rng.normal());
        const bData = Array.from({ length: 19 * 10 }, () => rng.normal());
        const [jsGrad, hereGrad] = both(() => {
          const x = tensor(aData, transposeA ? [2, 19, 7] : [2, 7, 19], { requiresGrad: true });
          const y = tensor(bData, transposeB ? [10, 19] : [19, 10], { requiresGrad: true });
          matmul(x, y, { transposeA, transposeB }).mul(weights).sum().backward();
          return { gA: Array.from(x.grad!.data), gB: Array.from(y.grad!.data) };
        });
        expectClose(hereGrad.gA, jsGrad.gA, { atol: 1e-5, rtol: 1e-5 });
        expectClose(hereGrad.gB, jsGrad.gB, { atol: 1e-5, rtol: 1e-5 });
      }
    });

    test("scaledDotProductAttention output and gradients: plain, causal, mask, GQA, layout 'sequence-first'", () => {
      /** Output and the three gradients of Σ out ⊙ upstream with the kernels active now. */
      function gradients(
        shapes: { query: number[]; keys: number[]; values: number[] },
        options: ScaledDotProductAttentionOptions,
        seed: number,
      ) {
        const rng = new Rng(seed);
        const [q, k, v] = [shapes.query, shapes.keys, shapes.values].map((s) => new Tensor(randn(s, rng).data, s, true)) as [
          Tensor,
          Tensor,
          Tensor,
        ];
        const out = scaledDotProductAttention(q, k, v, options);
        sum(mul(out, randn(out.shape, rng))).backward();
        return { out: out.data, dq: q.grad!.data, dk: k.grad!.data, dv: v.grad!.data };
      }
      const keep = new Tensor(
        Float32Array.from({ length: 2 * 90 }, (_, i) => (i % 7 === 3 ? 0 : 1)),
        [2, 1, 1, 90],
      ); // [B, 1, 1, Lk]
      const cases: [{ query: number[]; keys: number[]; values: number[] }, ScaledDotProductAttentionOptions][] = [
        [{ query: [2, 3, 70, 16], keys: [2, 3, 90, 16], values: [2, 3, 90, 12] }, {}],
        [
          { query: [2, 3, 70, 16], keys: [2, 3, 90, 16], values: [2, 3, 90, 12] },
          { causal: { offset: 20 }, attentionMask: keep },
        ],
        [
          { query: [2, 4, 70, 16], keys: [2, 2, 90, 16], values: [2, 2, 90, 16] },
          { causal: true, groupSize: 2 },
        ],
        [
          { query: [2, 70, 4, 16], keys: [2, 90, 2, 16], values: [2, 90, 2, 8] },
          { causal: { offset: 20 }, groupSize: 2, layout: 'sequence-first', attentionMask: keep },
        ],
      ];
      for (const [index, [shapes, options]] of cases.entries()) {
        const [js, here] = both(() => gradients(shapes, options, index));
        for (const g of ['out', 'dq', 'dk', 'dv'] as const) expectClose(here[g], js[g], tolerances.gradient, `case ${index} ${g}`);
      }
    });
  });
});
