// Test-only (exported from @heed/tensor/testing): the fused-attention conformance cases — forward, backward, weights
// and their gradient against the naive float64 reference over sizes off the tiles, masks read through strides, causal
// offsets, windows, GQA, layouts and the variants. Shape letters: n slices, nKv key/value slices (n / groupSize), B
// batch, H heads, Lq queries, Lk keys, d features, dv value features.
import type { AttentionProblem } from '../kernels/attention';
import { toHeadsFirst } from '../kernels/attention-layout';
import { jsKernelSet } from '../kernels/js/kernel-set';
import { Rng } from '../rng';
import { check, type ConformanceCase, type ConformanceTarget } from './conformance-target';
import { expectClose } from './expect-close';
import {
  attentionProblemOf,
  naiveAttention,
  randomAttentionInputs,
  stridedKeepMasks,
  type AttentionCase,
  type AttentionInputs,
} from './naive-attention';

const allZero = (a: ArrayLike<number>) => Array.from(a).every((x) => x === 0);
const maxAbs = (a: Float64Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

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

/** Forward then backward on the target. */
async function run(target: ConformanceTarget, p: AttentionProblem, { q, k, v, dOut }: AttentionInputs) {
  const { out, lse } = await target.attentionForward(p, q, k, v);
  const grads = await target.attentionBackward(p, q, k, v, out, lse, dOut);
  return { out, lse, ...grads };
}

/** Forward and gradients against the naive reference; targets other than 'js' also against the JS backward on their own forward. */
async function checkCase(target: ConformanceTarget, c: AttentionCase, seed = 1) {
  const { name, tolerances } = target;
  const p = problemOf(c);
  const inputs = randomAttentionInputs(p, seed);
  const got = await run(target, p, inputs);
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

/** Rows `from ≤ i < to` of slice `s` see nothing: lse −∞, zero output, no gradient. */
function expectEmptyRows(got: { lse: Float32Array; out: Float32Array; dq: Float32Array }, p: AttentionProblem, rows: [number, number][]) {
  const { queryLength: Lq, headDim: d, valueDim: dv } = p;
  for (const [s, i] of rows) {
    const at = s * Lq + i;
    check(got.lse[at] === -Infinity, `row ${i} of slice ${s}: logSumExp ${got.lse[at]}, expected −∞`);
    check(allZero(got.out.subarray(at * dv, (at + 1) * dv)), `row ${i} of slice ${s}: output not zero`);
    check(allZero(got.dq.subarray(at * d, (at + 1) * d)), `row ${i} of slice ${s}: dq not zero`);
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, r): [number, number] => [0, from + r]);

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
async function checkVariant(target: ConformanceTarget, p: AttentionProblem, label: string, seed: number) {
  const { name, tolerances } = target;
  const inputs = randomAttentionInputs(p, seed);
  const got = await run(target, p, inputs);
  const ref = naiveAttention(p, inputs);
  expectClose(got.out, ref.out, tolerances.forward, `${name} ${label} out`);
  expectClose(got.lse, ref.lse, tolerances.forward, `${name} ${label} logSumExp`);
  expectClose(got.dq, ref.dq, tolerances.gradient, `${name} ${label} dq`);
  expectClose(got.dk, ref.dk, tolerances.gradient, `${name} ${label} dk`);
  expectClose(got.dv, ref.dv, tolerances.gradient, `${name} ${label} dv`);
  check(
    (got.positionBias !== null) === !!p.positionBias && (got.sinks !== null) === !!p.sinks,
    `${name} ${label}: variant gradients missing`,
  );
  if (got.positionBias) expectClose(got.positionBias, ref.dPositionBias, tolerances.gradient, `${name} ${label} dPositionBias`);
  if (got.sinks) expectClose(got.sinks, ref.dSinks, tolerances.gradient, `${name} ${label} dSinks`);
  // Weights on request, from the same log-sum-exp, and their gradient (dWeights = a random G).
  const rows = Int32Array.from([0, Math.floor(p.queryLength / 2), p.queryLength - 1]);
  const R = rows.length;
  const weights = await target.attentionWeights(p, inputs.q, inputs.k, got.lse, rows);
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
  const w = await target.attentionWeightsBackward(p, inputs.q, inputs.k, rows, weights, G);
  const naive = naiveWeightsGradient(p, inputs, rows, G);
  expectClose(w.dq, naive.dq, tolerances.gradient, `${name} ${label} weights dq`);
  expectClose(w.dk, naive.dk, tolerances.gradient, `${name} ${label} weights dk`);
  if (p.positionBias) expectClose(w.positionBias ?? [], naive.dPositionBias, tolerances.gradient, `${name} ${label} weights dPositionBias`);
  if (p.sinks) expectClose(w.sinks ?? [], naive.dSinks, tolerances.gradient, `${name} ${label} weights dSinks`);
}

/** A sequence-first problem against the heads-first reference, every result moved back to heads-first. */
async function checkSequenceFirst(
  target: ConformanceTarget,
  headsFirst: AttentionProblem,
  B: number,
  H: number,
  seed: number,
  label: string,
  referenceProblem = headsFirst,
) {
  const { tolerances } = target;
  const { queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, groupSize } = headsFirst;
  const Hkv = H / groupSize;
  const sequenceFirst: AttentionProblem = { ...headsFirst, layout: 'sequence-first', heads: H };
  const inputs = randomAttentionInputs(sequenceFirst, seed); // read as [B, L, H, ·]
  const moved = {
    q: toHeadsFirst(inputs.q, B, H, Lq, d),
    k: toHeadsFirst(inputs.k, B, Hkv, Lk, d),
    v: toHeadsFirst(inputs.v, B, Hkv, Lk, dv),
    dOut: toHeadsFirst(inputs.dOut, B, H, Lq, dv),
  };
  const expected = naiveAttention(referenceProblem, moved);
  const got = await run(target, sequenceFirst, inputs);
  expectClose(toHeadsFirst(got.out, B, H, Lq, dv), expected.out, tolerances.forward, `${target.name} ${label} out`);
  expectClose(got.lse, expected.lse, tolerances.forward, `${target.name} ${label} logSumExp`);
  expectClose(toHeadsFirst(got.dq, B, H, Lq, d), expected.dq, tolerances.gradient, `${target.name} ${label} dq`);
  expectClose(toHeadsFirst(got.dk, B, Hkv, Lk, d), expected.dk, tolerances.gradient, `${target.name} ${label} dk`);
  expectClose(toHeadsFirst(got.dv, B, Hkv, Lk, dv), expected.dv, tolerances.gradient, `${target.name} ${label} dv`);
  if (headsFirst.positionBias) expectClose(got.positionBias ?? [], expected.dPositionBias, tolerances.gradient, `${label} dPositionBias`);
  if (headsFirst.sinks) expectClose(got.sinks ?? [], expected.dSinks, tolerances.gradient, `${label} dSinks`);
}

const group = 'fused attention, forward and backward, against a naive float64 reference';
const attentionCase = (name: string, run: (target: ConformanceTarget) => Promise<void>): ConformanceCase => ({ group, name, run });

/** The fused-attention cases. */
export const attentionConformanceCases: readonly ConformanceCase[] = [
  attentionCase('sizes off the tiles: Lq ∈ {1, 3, 17, 65, 130}, Lk ∈ {1, 3, 17, 65, 130, 300}, d ∈ {1, 5, 8, 64}', async (t) => {
    for (const d of [1, 5, 8, 64]) {
      for (const Lq of [1, 3, 17, 65, 130]) {
        for (const Lk of [1, 3, 17, 65, 130, 300])
          await checkCase(t, { queryLength: Lq, keyLength: Lk, headDim: d, valueDim: d === 64 ? 33 : d + 2 }, Lq * 1000 + Lk + d);
      }
    }
  }),

  attentionCase('value sizes other than the key size: dv ∈ {1, 5, 33, 64, 70} with d = 16', async (t) => {
    for (const dv of [1, 5, 33, 64, 70]) await checkCase(t, { queryLength: 70, keyLength: 90, headDim: 16, valueDim: dv }, dv);
  }),

  attentionCase('causal: top-left, bottom-right, positive and negative offsets, across query and key blocks', async (t) => {
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
        await checkCase(t, { queryLength: Lq, keyLength: Lk, headDim: 8, causalOffset: offset }, Lq * 1000 + Lk);
    }
  }),

  attentionCase('causal with Lq > Lk bottom-right: the first Lq − Lk rows see nothing (zero output, −∞, no gradient)', async (t) => {
    const { got, p } = await checkCase(t, { queryLength: 170, keyLength: 20, headDim: 4, n: 1, causalOffset: -150 });
    expectEmptyRows(got, p, range(0, 150));
  }),

  attentionCase(
    'windows (keys i + windowStart ≤ j ≤ i + causalOffset): sliding and local, odd sizes, across query and key blocks',
    async (t) => {
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
          // causal sliding window of W keys; local window, W keys each side
          await checkCase(
            t,
            { queryLength: Lq, keyLength: Lk, headDim: 8, causalOffset: end, windowStart: end - W + 1 },
            Lq * 1000 + Lk + W,
          );
          await checkCase(t, { queryLength: Lq, keyLength: Lk, headDim: 8, causalOffset: W, windowStart: -W }, Lq * 1000 + Lk + W);
        }
        await checkCase(t, { queryLength: Lq, keyLength: Lk, headDim: 5, windowStart: 3 }, Lq + Lk); // a lower bound alone
      }
    },
  ),

  attentionCase('windows with masks, GQA and fully masked rows (zero output, −∞, no gradient)', async (t) => {
    const rng = new Rng(12);
    const [n, Lq, Lk] = [4, 70, 150];
    for (const [attentionMask, attentionMaskStrides] of stridedKeepMasks(rng, n, Lq, Lk)) {
      const masked = { n, queryLength: Lq, keyLength: Lk, attentionMask, attentionMaskStrides };
      await checkCase(t, { ...masked, headDim: 5, causalOffset: Lk - Lq, windowStart: Lk - Lq - 40 });
      await checkCase(t, { ...masked, groupSize: 2, headDim: 8, causalOffset: 20, windowStart: -20 });
    }
    await checkCase(t, { n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, causalOffset: 51, windowStart: 30 });
    // Row i sees keys [i + 61, i + 70] ∩ [0, 80): rows 19 and after see none.
    const { got, p } = await checkCase(t, { n: 1, queryLength: 30, keyLength: 80, headDim: 4, causalOffset: 70, windowStart: 61 });
    expectEmptyRows(got, p, range(19, 30));
  }),

  attentionCase('attention masks read through broadcast strides: [Lq, Lk], [n, 1, Lk], [n, Lq, Lk], transposed storage', async (t) => {
    const rng = new Rng(11);
    const [n, Lq, Lk] = [3, 70, 270];
    for (const [attentionMask, attentionMaskStrides] of stridedKeepMasks(rng, n, Lq, Lk)) {
      await checkCase(t, { n, queryLength: Lq, keyLength: Lk, headDim: 5, attentionMask, attentionMaskStrides });
      await checkCase(t, { n, queryLength: Lq, keyLength: Lk, headDim: 5, attentionMask, attentionMaskStrides, causalOffset: Lk - Lq });
    }
  }),

  attentionCase('grouped-query attention: groupSize 2, and 4 with one key/value slice (MQA), causal and masked', async (t) => {
    await checkCase(t, { n: 4, groupSize: 2, queryLength: 19, keyLength: 70, headDim: 8 });
    await checkCase(t, { n: 4, groupSize: 2, queryLength: 33, keyLength: 145, headDim: 16 });
    await checkCase(t, { n: 8, groupSize: 2, queryLength: 70, keyLength: 70, headDim: 8, causalOffset: 0 });
    await checkCase(t, { n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, causalOffset: 51 });
    const attentionMask = Float32Array.from({ length: 4 * 70 }, (_, idx) => (idx % 3 === 0 ? 1 : 0)); // [n, 1, Lk] over query slices
    await checkCase(t, { n: 4, groupSize: 4, queryLength: 19, keyLength: 70, headDim: 8, attentionMask, attentionMaskStrides: [70, 0, 1] });
  }),

  attentionCase('fully masked rows, rows masked in later key blocks only, a key no row sees: zeros, −∞, no NaN', async (t) => {
    const [n, Lq] = [2, 77];
    for (const [Lk, firstBlock] of [
      [150, 64],
      [300, 256],
    ] as const) {
      const attentionMask = new Float32Array(n * Lq * Lk).fill(1); // [n, Lq, Lk]
      for (let s = 0; s < n; s++) for (let i = 0; i < Lq; i++) attentionMask[(s * Lq + i) * Lk + Lk - 1] = 0; // the last key: nobody
      const masked: [number, number][] = [
        [0, 3],
        [0, 76],
        [1, 0],
        [1, 65],
      ];
      for (const [s, i] of masked) attentionMask.fill(0, (s * Lq + i) * Lk, (s * Lq + i + 1) * Lk);
      attentionMask.fill(0, (Lq + 5) * Lk + firstBlock, (Lq + 6) * Lk); // row 5 of slice 1 sees only the first key block
      attentionMask.fill(0, (Lq + 6) * Lk, (Lq + 6) * Lk + firstBlock); // row 6 only the later ones
      const { got, p } = await checkCase(t, {
        n,
        queryLength: Lq,
        keyLength: Lk,
        headDim: 6,
        attentionMask,
        attentionMaskStrides: [Lq * Lk, Lk, 1],
      });
      expectEmptyRows(got, p, masked);
      for (let s = 0; s < n; s++) {
        check(allZero(got.dk.subarray((s * Lk + Lk - 1) * 6, (s * Lk + Lk) * 6)), `Lk=${Lk} slice ${s}: dk of the unseen key not zero`);
        check(allZero(got.dv.subarray((s * Lk + Lk - 1) * 8, (s * Lk + Lk) * 8)), `Lk=${Lk} slice ${s}: dv of the unseen key not zero`);
      }
      for (const a of [got.out, got.dq, got.dk, got.dv]) check(!a.some(Number.isNaN), `Lk=${Lk}: NaN in the results`);
    }
  }),

  attentionCase('nothing to attend (Lk = 0), no queries (Lq = 0), empty features (d = 0, dv = 0): zeros, −∞, no NaN', async (t) => {
    const none = attentionProblemOf({ n: 1, queryLength: 3, keyLength: 0, headDim: 2 });
    const got = await run(t, none, randomAttentionInputs(none, 3));
    check(got.out.length === 12 && allZero(got.out), `Lk = 0: output ${Array.from(got.out)}, expected 12 zeros`);
    check(got.lse.length === 3 && got.lse.every((x) => x === -Infinity), `Lk = 0: logSumExp ${Array.from(got.lse)}, expected −∞`);
    check(got.dq.length === 6 && allZero(got.dq), `Lk = 0: dq ${Array.from(got.dq)}, expected 6 zeros`);
    const noQueries = attentionProblemOf({ n: 2, queryLength: 0, keyLength: 5, headDim: 3 });
    const empty = await run(t, noQueries, randomAttentionInputs(noQueries, 4));
    check(allZero(empty.dk) && allZero(empty.dv), 'Lq = 0: dk and dv not zero');
    await checkCase(t, { queryLength: 9, keyLength: 11, headDim: 0, valueDim: 3 });
    await checkCase(t, { queryLength: 9, keyLength: 11, headDim: 3, valueDim: 0 });
  }),

  attentionCase('large logits (scores ≈ ±1e4, spread O(1)): finite, within the rounding of the scores', async (t) => {
    for (const sign of [1, -1]) {
      const p = attentionProblemOf({ n: 2, queryLength: 20, keyLength: 90, headDim: 8, scale: 1 });
      const inputs = randomAttentionInputs(p, 5);
      // A shared first feature of size 100 puts every score at sign·1e4 + O(1), like sdpa_large_logits_offset.
      for (let r = 0; r < inputs.q.length / 8; r++) inputs.q[r * 8] = 100;
      for (let r = 0; r < inputs.k.length / 8; r++) inputs.k[r * 8] = sign * 100;
      const got = await run(t, p, inputs);
      const ref = naiveAttention(p, inputs);
      for (const a of [got.out, got.lse, got.dq, got.dk, got.dv]) check(a.every(Number.isFinite), `sign ${sign}: a result is not finite`);
      // Float32 scores of size 1e4 are off by up to d·u·1e4 ≈ 5e-3, which moves the weights by as much (relative);
      // float64 scores only suffer the float32 log-sum-exp the backward recomputes the weights from (ulp(1e4) ≈ 1e-3).
      const [out, lse, grad] = t.tolerances.float32
        ? [{ atol: 2e-2, rtol: 1e-2 }, { atol: 1e-2, rtol: 1e-6 }, 2e-2]
        : [t.tolerances.forward, { atol: 0, rtol: 1e-7 }, 2e-3];
      expectClose(got.out, ref.out, out, `sign ${sign} out`);
      expectClose(got.lse, ref.lse, lse, `sign ${sign} logSumExp`);
      for (const g of ['dq', 'dk', 'dv'] as const)
        expectClose(got[g], ref[g], { atol: grad * maxAbs(ref[g]), rtol: grad }, `sign ${sign} ${g}`);
    }
  }),

  attentionCase('large logits with a wide spread (near one-hot rows, |scores| up to ~1e4): finite and correct', async (t) => {
    const p = attentionProblemOf({ n: 1, queryLength: 9, keyLength: 70, headDim: 8, scale: 1500 });
    const inputs = randomAttentionInputs(p, 8);
    const got = await run(t, p, inputs);
    const ref = naiveAttention(p, inputs);
    check(
      ref.lse.some((x) => Math.abs(x) > 5e3),
      'the case has no large logits',
    );
    expectClose(got.out, ref.out, t.tolerances.float32 ? { atol: 2e-2, rtol: 1e-2 } : t.tolerances.forward, 'out');
    expectClose(got.lse, ref.lse, t.tolerances.float32 ? { atol: 1e-2, rtol: 1e-6 } : { atol: 0, rtol: 1e-7 }, 'logSumExp');
    for (const a of [got.dq, got.dk, got.dv]) check(a.every(Number.isFinite), 'a gradient is not finite');
  }),

  attentionCase('a realistic head: Lq = Lk = 256, d = 64, causal and not', async (t) => {
    await checkCase(t, { n: 2, queryLength: 256, keyLength: 256, headDim: 64, valueDim: 64 });
    await checkCase(t, { n: 2, queryLength: 256, keyLength: 256, headDim: 64, valueDim: 64, causalOffset: 0 });
  }),

  attentionCase("layout 'sequence-first' ([B, L, H, ·], GQA included): the heads-first results, moved", async (t) => {
    for (const [B, H, groupSize, causalOffset, windowStart] of [
      [2, 3, 1, null, null],
      [1, 4, 2, 0, null],
      [2, 4, 4, 7, null],
      [1, 4, 2, 30, -10],
    ] as const) {
      const headsFirst = problemOf({
        n: B * H,
        queryLength: 70,
        keyLength: 93,
        headDim: 8,
        valueDim: 12,
        groupSize,
        causalOffset,
        windowStart,
      });
      await checkSequenceFirst(t, headsFirst, B, H, B * 100 + H, `B=${B} H=${H} g=${groupSize}`, windowMaterialized(headsFirst));
    }
  }),

  attentionCase('attention weights of chosen rows from the log-sum-exp: the naive softmax weights, masked and causal', async (t) => {
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
      const { lse } = await t.attentionForward(p, inputs.q, inputs.k, inputs.v);
      const rows = Int32Array.from([0, 5, 19]);
      const weights = await t.attentionWeights(p, inputs.q, inputs.k, lse, rows);
      const ref = naiveAttention(windowMaterialized(p), inputs).weights; // [n, Lq, Lk]
      const expected = new Float64Array(weights.length);
      for (let s = 0; s < n; s++)
        rows.forEach((i, r) => expected.set(ref.subarray((s * Lq + i) * Lk, (s * Lq + i + 1) * Lk), (s * rows.length + r) * Lk));
      expectClose(weights, expected, t.tolerances.forward, 'weights');
    }
  }),

  attentionCase('variants: ALiBi, relative bias, softcap, sinks, segments, alone and combined, with causal, windows and GQA', async (t) => {
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
        await checkVariant(t, variantProblem(2, 4, shape, part, rng), `${part.join('+')} ${JSON.stringify(shape)}`, ++seed);
  }),

  attentionCase('variants with sinks: a fully masked row gives out 0, logSumExp = the sink, and no gradient', async (t) => {
    const rng = new Rng(78);
    const p = variantProblem(1, 2, { queryLength: 6, keyLength: 6, headDim: 4, causalOffset: -1 }, ['sinks', 'alibi'], rng); // row 0 sees nothing
    await checkVariant(t, p, 'fully masked row 0', 5);
  }),

  attentionCase("variants in layout 'sequence-first' ([B, L, H, ·], GQA): the heads-first results, moved", async (t) => {
    const rng = new Rng(79);
    const [B, H] = [2, 4];
    const headsFirst = variantProblem(
      B,
      H,
      { queryLength: 40, keyLength: 70, headDim: 8, valueDim: 6, groupSize: 2, causalOffset: 30 },
      ['alibi', 'bias', 'softcap', 'sinks', 'segments'],
      rng,
    );
    await checkSequenceFirst(t, headsFirst, B, H, 3, 'variants');
  }),
];
