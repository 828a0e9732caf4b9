import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randn } from '../../creation';
import { mul } from '../../ops/binary';
import { sum } from '../../ops/reduce';
import { scaledDotProductAttention } from '../../ops/scaled-dot-product-attention';
import type { ScaledDotProductAttentionOptions } from '../../ops/scaled-dot-product-attention-problem';
import { Rng } from '../../rng';
import { Tensor } from '../../tensor';
import { expectClose } from '../../testing/expect-close';
import { attentionProblemOf, naiveAttention, randomAttentionInputs, stridedKeepMasks, type AttentionCase, type AttentionInputs } from '../../testing/naive-attention';
import type { AttentionBackwardKernel, AttentionForwardKernel, AttentionProblem } from '../attention';
import { attentionBackwardJs, attentionForwardJs } from '../js/attention';
import { toHeadsFirst } from '../attention-layout';
import { getKernels, plainKernels, setKernels } from '../registry';
import { createAttentionBackwardWasm } from './attention';
import { createAttentionForwardWasm } from './attention';
import { loadWasmKernels } from './load-wasm-kernels';
import { useJsKernels, useWasmKernels } from './use-wasm-kernels';

// Shape letters: n slices, nKv key/value slices (n / groupSize), B batch, H heads, Lq queries, Lk keys,
// d features, dv value features.

let wasmForward: AttentionForwardKernel;
let wasmBackward: AttentionBackwardKernel;

beforeAll(async () => {
  const wasm = await loadWasmKernels({ relaxedSimd: false });
  expect(wasm).not.toBeNull(); // Node runs WebAssembly SIMD: never a skip
  wasmForward = createAttentionForwardWasm(wasm!);
  wasmBackward = createAttentionBackwardWasm(wasm!);
});

afterAll(() => {
  useJsKernels();
  setKernels(plainKernels());
});

/** Forward then backward with one pair of kernels, on outputs pre-filled with NaN (so every element must be written). */
function run(forward: AttentionForwardKernel, backward: AttentionBackwardKernel, p: AttentionProblem, { q, k, v, dOut }: AttentionInputs) {
  const nKv = p.n / p.groupSize;
  const out = new Float32Array(p.n * p.queryLength * p.valueDim).fill(NaN);
  const lse = new Float32Array(p.n * p.queryLength).fill(NaN);
  forward(p, q, k, v, out, lse);
  const dq = new Float32Array(q.length).fill(NaN);
  const dk = new Float32Array(nKv * p.keyLength * p.headDim).fill(NaN);
  const dv = new Float32Array(nKv * p.keyLength * p.valueDim).fill(NaN);
  backward(p, q, k, v, out, lse, dOut, dq, dk, dv);
  return { out, lse, dq, dk, dv };
}

// Float32 products and sums (the JS kernel and the reference accumulate in float64).
const GRADIENT = { atol: 1e-4, rtol: 1e-3 };

function check(c: AttentionCase, seed = 1) {
  const p = attentionProblemOf(c);
  const inputs = randomAttentionInputs(p, seed);
  const got = run(wasmForward, wasmBackward, p, inputs);
  const js = run(attentionForwardJs, attentionBackwardJs, p, inputs);
  const ref = naiveAttention(p, inputs);
  const label = `n=${p.n} Lq=${p.queryLength} Lk=${p.keyLength} d=${p.headDim} dv=${p.valueDim} causal=${p.causalOffset} g=${p.groupSize}`;
  for (const name of ['dq', 'dk', 'dv'] as const) {
    expectClose(got[name], ref[name], GRADIENT, `${label} ${name}`);
    expectClose(got[name], js[name], GRADIENT, `${label} ${name} vs JS kernel`);
  }
  // The JS backward on the WebAssembly forward's out and logSumExp: the same gradients.
  const dq = new Float32Array(got.dq.length);
  const dk = new Float32Array(got.dk.length);
  const dv = new Float32Array(got.dv.length);
  attentionBackwardJs(p, inputs.q, inputs.k, inputs.v, got.out, got.lse, inputs.dOut, dq, dk, dv);
  expectClose(got.dq, dq, GRADIENT, `${label} dq vs JS backward on the same forward`);
  expectClose(got.dk, dk, GRADIENT, `${label} dk vs JS backward on the same forward`);
  expectClose(got.dv, dv, GRADIENT, `${label} dv vs JS backward on the same forward`);
  return { got, ref, p, inputs };
}

const allZero = (a: Float32Array) => a.every((x) => x === 0);

describe('createAttentionBackwardWasm against a naive float64 reference and the JS kernel', () => {
  it('sizes that are not multiples of the blocks: Lq, Lk ∈ {1, 3, 17, 65, 130}, d ∈ {1, 8, 64}', () => {
    const lengths = [1, 3, 17, 65, 130];
    for (const d of [1, 8, 64]) {
      for (const Lq of lengths) {
        for (const Lk of lengths) check({ queryLength: Lq, keyLength: Lk, headDim: d, valueDim: d === 64 ? 64 : d + 2 }, Lq * 1000 + Lk + d);
      }
    }
  });

  it('value sizes other than the key size: dv ∈ {1, 5, 33, 70} with d = 16', () => {
    for (const dv of [1, 5, 33, 70]) check({ queryLength: 70, keyLength: 90, headDim: 16, valueDim: dv }, dv);
  });

  it('causal: top-left, bottom-right, positive and negative offsets, across query and key blocks', () => {
    for (const [Lq, Lk] of [[17, 17], [130, 130], [40, 300], [300, 40], [9, 600]] as const) {
      for (const offset of [0, Lk - Lq, 5, -3]) check({ queryLength: Lq, keyLength: Lk, headDim: 8, causalOffset: offset }, Lq * 1000 + Lk);
    }
  });

  it('causal with Lq > Lk bottom-right: the first Lq − Lk rows see nothing and get dq = 0', () => {
    const { got } = check({ queryLength: 170, keyLength: 20, headDim: 4, n: 1, causalOffset: -150 });
    for (let i = 0; i < 150; i++) {
      expect(got.lse[i]).toBe(-Infinity);
      expect(allZero(got.dq.subarray(i * 4, i * 4 + 4))).toBe(true);
    }
  });

  it('keep masks read through broadcast strides: [Lq, Lk], [n, 1, Lk], [n, Lq, Lk], transposed storage', () => {
    const rng = new Rng(11);
    const n = 3;
    const Lq = 70;
    const Lk = 150;
    const masks = stridedKeepMasks(rng, n, Lq, Lk); // [Lq, Lk], [n, 1, Lk], [n, Lq, Lk], transposed
    for (const [keep, keepStrides] of masks) {
      check({ n, queryLength: Lq, keyLength: Lk, headDim: 5, attentionMask: keep, attentionMaskStrides: keepStrides });
      check({ n, queryLength: Lq, keyLength: Lk, headDim: 5, attentionMask: keep, attentionMaskStrides: keepStrides, causalOffset: Lk - Lq });
    }
  });

  it('grouped-query attention: groupSize 2, and 4 with one key/value slice (MQA), causal and masked', () => {
    check({ n: 4, groupSize: 2, queryLength: 33, keyLength: 145, headDim: 16 });
    check({ n: 8, groupSize: 2, queryLength: 70, keyLength: 70, headDim: 8, causalOffset: 0 });
    check({ n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, causalOffset: 51 });
    const keep = Float32Array.from({ length: 4 * 70 }, (_, idx) => (idx % 3 === 0 ? 1 : 0)); // [n, 1, Lk] over query slices
    check({ n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, attentionMask: keep, attentionMaskStrides: [70, 0, 1] });
  });

  it('fully masked rows, a row masked only in later key blocks, a key only masked rows see: zeros, no NaN', () => {
    const n = 2;
    const Lq = 77;
    const Lk = 150;
    const keep = new Float32Array(n * Lq * Lk).fill(1); // [n, Lq, Lk]
    for (let s = 0; s < n; s++) for (let i = 0; i < Lq; i++) keep[(s * Lq + i) * Lk + 149] = 0; // key 149: nobody
    const masked = [[0, 3], [0, 76], [1, 0], [1, 65]] as const;
    for (const [s, i] of masked) keep.fill(0, (s * Lq + i) * Lk, (s * Lq + i + 1) * Lk);
    keep.fill(0, (Lq + 5) * Lk + 64, (Lq + 6) * Lk); // row 5 of slice 1 sees only the first key block
    keep.fill(0, (Lq + 6) * Lk, (Lq + 6) * Lk + 128); // row 6 only the last
    const { got } = check({ n, queryLength: Lq, keyLength: Lk, headDim: 6, attentionMask: keep, attentionMaskStrides: [Lq * Lk, Lk, 1] });
    for (const [s, i] of masked) {
      expect(got.lse[s * Lq + i]).toBe(-Infinity);
      expect(allZero(got.dq.subarray((s * Lq + i) * 6, (s * Lq + i + 1) * 6))).toBe(true);
    }
    for (let s = 0; s < n; s++) {
      expect(allZero(got.dk.subarray((s * Lk + 149) * 6, (s * Lk + 150) * 6))).toBe(true);
      expect(allZero(got.dv.subarray((s * Lk + 149) * 8, (s * Lk + 150) * 8))).toBe(true);
    }
    for (const a of [got.dq, got.dk, got.dv]) expect(a.some(Number.isNaN)).toBe(false);
  });

  it('nothing to attend (Lk = 0), no queries (Lq = 0), empty features (d = 0, dv = 0): zeros, no NaN', () => {
    const none = run(wasmForward, wasmBackward, attentionProblemOf({ n: 1, queryLength: 3, keyLength: 0, headDim: 2 }), randomAttentionInputs(attentionProblemOf({ n: 1, queryLength: 3, keyLength: 0, headDim: 2 }), 3));
    expect(Array.from(none.dq)).toEqual(new Array(6).fill(0));
    const noQueries = attentionProblemOf({ n: 2, queryLength: 0, keyLength: 5, headDim: 3 });
    const empty = run(wasmForward, wasmBackward, noQueries, randomAttentionInputs(noQueries, 4));
    expect(allZero(empty.dk) && allZero(empty.dv)).toBe(true);
    check({ queryLength: 9, keyLength: 11, headDim: 0, valueDim: 3 });
    check({ queryLength: 9, keyLength: 11, headDim: 3, valueDim: 0 });
  });

  it('large logits (scores ≈ ±1e4, spread O(1)): finite, within the float32 rounding of the scores', () => {
    for (const sign of [1, -1]) {
      const p = attentionProblemOf({ n: 2, queryLength: 20, keyLength: 90, headDim: 8, scale: 1 });
      const inputs = randomAttentionInputs(p, 5);
      for (let r = 0; r < inputs.q.length / 8; r++) inputs.q[r * 8] = 100;
      for (let r = 0; r < inputs.k.length / 8; r++) inputs.k[r * 8] = sign * 100;
      const got = run(wasmForward, wasmBackward, p, inputs);
      const ref = naiveAttention(p, inputs);
      for (const a of [got.dq, got.dk, got.dv]) expect(a.every(Number.isFinite)).toBe(true);
      // A float32 score of size 1e4 is off by up to d·u·1e4 ≈ 5e-3, which moves the weights by as much (relative).
      const maxAbs = (a: Float64Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      for (const name of ['dq', 'dk', 'dv'] as const) expectClose(got[name], ref[name], { atol: 2e-2 * maxAbs(ref[name]), rtol: 2e-2 }, `sign ${sign} ${name}`);
    }
  });

  it('a realistic head: Lq = Lk = 256, d = 64, causal and not', () => {
    check({ n: 2, queryLength: 256, keyLength: 256, headDim: 64, valueDim: 64 });
    check({ n: 2, queryLength: 256, keyLength: 256, headDim: 64, valueDim: 64, causalOffset: 0 });
  });

  it("layout 'sequence-first' ([B, L, H, ·], GQA included): the heads-first results, moved", () => {
    for (const [B, H, groupSize, causalOffset] of [[2, 3, 1, null], [1, 4, 2, 0], [2, 4, 4, 7]] as const) {
      const [Lq, Lk, d, dv] = [70, 93, 8, 12];
      const Hkv = H / groupSize;
      const headsFirst = attentionProblemOf({ n: B * H, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, groupSize, causalOffset });
      const sequenceFirst: AttentionProblem = { ...headsFirst, layout: 'sequence-first', heads: H };
      const inputs = randomAttentionInputs(sequenceFirst, B * 100 + H); // read as [B, L, H, ·]
      const moved = {
        q: toHeadsFirst(inputs.q, B, H, Lq, d),
        k: toHeadsFirst(inputs.k, B, Hkv, Lk, d),
        v: toHeadsFirst(inputs.v, B, Hkv, Lk, dv),
        dOut: toHeadsFirst(inputs.dOut, B, H, Lq, dv),
      };
      const expected = run(wasmForward, wasmBackward, headsFirst, moved);
      for (const [forward, backward, name] of [[wasmForward, wasmBackward, 'wasm'], [attentionForwardJs, attentionBackwardJs, 'js']] as const) {
        const got = run(forward, backward, sequenceFirst, inputs);
        const label = `${name} B=${B} H=${H} g=${groupSize}`;
        expectClose(toHeadsFirst(got.out, B, H, Lq, dv), expected.out, GRADIENT, `${label} out`);
        expectClose(got.lse, expected.lse, GRADIENT, `${label} logSumExp`);
        expectClose(toHeadsFirst(got.dq, B, H, Lq, d), expected.dq, GRADIENT, `${label} dq`);
        expectClose(toHeadsFirst(got.dk, B, Hkv, Lk, d), expected.dk, GRADIENT, `${label} dk`);
        expectClose(toHeadsFirst(got.dv, B, Hkv, Lk, dv), expected.dv, GRADIENT, `${label} dv`);
      }
    }
  });
});

describe('scaledDotProductAttention gradients with the WebAssembly kernels installed', () => {
  /** Output and the three gradients of Σ out ⊙ upstream with the kernels active now. */
  function gradients(shapes: { query: number[]; keys: number[]; values: number[] }, options: ScaledDotProductAttentionOptions, seed: number) {
    const rng = new Rng(seed);
    const [q, k, v] = [shapes.query, shapes.keys, shapes.values].map((s) => new Tensor(randn(s, rng).data, s, true)) as [Tensor, Tensor, Tensor];
    const out = scaledDotProductAttention(q, k, v, options);
    sum(mul(out, randn(out.shape, rng))).backward();
    return { out: out.data, dq: q.grad!.data, dk: k.grad!.data, dv: v.grad!.data };
  }

  it("match the JS kernels: plain, causal, keep mask, GQA, layout 'sequence-first'", async () => {
    const keep = new Tensor(Float32Array.from({ length: 2 * 90 }, (_, i) => (i % 7 === 3 ? 0 : 1)), [2, 1, 1, 90]); // [B, 1, 1, Lk]
    const cases: [{ query: number[]; keys: number[]; values: number[] }, ScaledDotProductAttentionOptions][] = [
      [{ query: [2, 3, 70, 16], keys: [2, 3, 90, 16], values: [2, 3, 90, 12] }, {}],
      [{ query: [2, 3, 70, 16], keys: [2, 3, 90, 16], values: [2, 3, 90, 12] }, { causal: { offset: 20 }, keep }],
      [{ query: [2, 4, 70, 16], keys: [2, 2, 90, 16], values: [2, 2, 90, 16] }, { causal: true, groupSize: 2 }],
      [{ query: [2, 70, 4, 16], keys: [2, 90, 2, 16], values: [2, 90, 2, 8] }, { causal: { offset: 20 }, groupSize: 2, layout: 'sequence-first', keep }],
    ];
    for (const [index, [shapes, options]] of cases.entries()) {
      useJsKernels();
      const js = gradients(shapes, options, index);
      expect(await useWasmKernels({ relaxedSimd: false })).toBe(true);
      expect(getKernels().attentionBackward).not.toBe(attentionBackwardJs);
      const wasm = gradients(shapes, options, index);
      for (const name of ['out', 'dq', 'dk', 'dv'] as const) expectClose(wasm[name], js[name], GRADIENT, `case ${index} ${name}`);
    }
    useJsKernels();
  });
});
