import { ArgumentError, type AttentionProblem, ConfigError, plainKernels, Rng, ShapeError } from '@heed/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGpu } from '../../test/test-gpu';
import { requestGpuDevice } from '../request-gpu-device';
import { type AttentionKernels, createAttentionKernels, MAX_ATTENTION_HEAD_DIM } from './create-attention-kernels';
import { readFloats, uploadFloats } from './gpu-arrays';

// The WGSL kernels against the plain TypeScript kernels of @heed/tensor (float64 accumulation), on SwiftShader.
// Shape letters: n slices, Lq queries, Lk keys, d, dv features, R chosen rows.
// Tolerances: |gpu − js| ≤ atol + rtol·|js| per entry; the GPU accumulates in float32.
// Observed max abs errors over these cases (SwiftShader, Dawn in Node 20): out 1.1e-6, logSumExp 7.6e-6 (at |lse| ≈ 100),
// weights 3.9e-7; dq 2.1e-7, dk 7.2e-6 (at large logits), dv 2.3e-6, d positionBias 2.5e-7, d sinks 6.0e-8;
// the weights' dq 6.0e-8, dk 1.2e-6, d positionBias 1.2e-7, d sinks 6.0e-8.
const FORWARD = { atol: 2e-6, rtol: 2e-5 };
const BACKWARD = { atol: 2e-5, rtol: 1e-4 };

let device: GPUDevice;
let kernels: AttentionKernels;

beforeAll(async () => {
  ({ device } = await requestGpuDevice({ gpu: testGpu() }));
  kernels = createAttentionKernels(device);
});
afterAll(() => device.destroy());

interface Case {
  name: string;
  problem: Partial<AttentionProblem> & Pick<AttentionProblem, 'n' | 'queryLength' | 'keyLength' | 'headDim' | 'valueDim'>;
  /** attention mask shape: strides are derived for [n or 1, Lq or 1, Lk or 1] */
  mask?: { slices: boolean; queries: boolean; keys: boolean; density?: number; emptyRows?: boolean };
  /** multiply q by this (large logits) */
  logitScale?: number;
  /** The variants to draw (per-head parameters for H = problem.heads ?? 1 heads). */
  variants?: { alibi?: boolean; positionBias?: boolean; softcap?: number; sinks?: boolean; segments?: boolean };
}

function randomArray(rng: Rng, length: number, scale = 1): Float32Array {
  return Float32Array.from({ length }, () => (rng.uniform() * 2 - 1) * scale);
}

function problemOf(c: Case, rng: Rng): AttentionProblem {
  const base: AttentionProblem = {
    scale: 1 / Math.sqrt(c.problem.headDim),
    causalOffset: null,
    windowStart: null,
    attentionMask: null,
    attentionMaskStrides: [0, 0, 0],
    groupSize: 1,
    ...c.problem,
  };
  if (c.mask) {
    const { n, queryLength: Lq, keyLength: Lk } = base;
    const [sn, sq, sk] = [c.mask.slices ? n : 1, c.mask.queries ? Lq : 1, c.mask.keys ? Lk : 1];
    const mask = Float32Array.from({ length: sn * sq * sk }, () => (rng.uniform() < (c.mask?.density ?? 0.7) ? 1 : 0));
    if (c.mask.emptyRows) mask.fill(0, 0, sk); // the first (slice, query) row keeps nothing
    base.attentionMask = mask;
    base.attentionMaskStrides = [c.mask.slices ? sq * sk : 0, c.mask.queries ? sk : 0, c.mask.keys ? 1 : 0];
  }
  const v = c.variants;
  if (v) {
    const { n, queryLength: Lq, keyLength: Lk } = base;
    const H = base.heads ?? 1;
    if (v.alibi) {
      base.alibiSlopes = Float32Array.from({ length: H }, (_, h) => 2 ** -(h + 1));
      base.queryPositionOffset = 3;
    }
    if (v.positionBias) base.positionBias = randomArray(rng, H * (Lq + Lk - 1));
    if (v.softcap !== undefined) base.softcap = v.softcap;
    if (v.sinks) base.sinks = randomArray(rng, H, 2);
    if (v.segments) {
      // Sorted ids per batch element (packed sequences), queries and keys drawn separately: some rows match no key.
      const ids = (length: number) => Int32Array.from({ length }, () => rng.int(3)).sort();
      base.querySegments = ids((n / H) * Lq);
      base.keySegments = ids((n / H) * Lk);
    }
  }
  return base;
}

const cases: Case[] = [
  { name: 'one query, one key', problem: { n: 1, queryLength: 1, keyLength: 1, headDim: 3, valueDim: 3 } },
  { name: 'odd sizes, Lq ≠ Lk', problem: { n: 2, queryLength: 7, keyLength: 33, headDim: 3, valueDim: 5 } },
  {
    name: 'Lq = Lk = 130, d = dv = 64, causal',
    problem: { n: 2, queryLength: 130, keyLength: 130, headDim: 64, valueDim: 64, causalOffset: 0 },
  },
  {
    name: 'bottom-right causal (offset Lk − Lq), d = 80',
    problem: { n: 1, queryLength: 33, keyLength: 130, headDim: 80, valueDim: 80, causalOffset: 97 },
  },
  {
    name: 'negative causal offset: the first rows see nothing',
    problem: { n: 2, queryLength: 33, keyLength: 33, headDim: 7, valueDim: 9, causalOffset: -5 },
  },
  {
    name: 'causal sliding window',
    problem: { n: 2, queryLength: 130, keyLength: 130, headDim: 16, valueDim: 8, causalOffset: 0, windowStart: -9 },
  },
  {
    name: 'local window without causality',
    problem: { n: 1, queryLength: 70, keyLength: 90, headDim: 5, valueDim: 6, windowStart: -20, causalOffset: 20 },
  },
  { name: 'window start only', problem: { n: 1, queryLength: 40, keyLength: 40, headDim: 4, valueDim: 4, windowStart: 3 } },
  {
    name: 'full mask [n, Lq, Lk] with an empty row',
    problem: { n: 3, queryLength: 33, keyLength: 65, headDim: 8, valueDim: 3 },
    mask: { slices: true, queries: true, keys: true, emptyRows: true },
  },
  {
    name: 'key padding mask [n, 1, Lk]',
    problem: { n: 2, queryLength: 17, keyLength: 40, headDim: 6, valueDim: 6 },
    mask: { slices: true, queries: false, keys: true },
  },
  {
    name: 'query mask [1, Lq, 1] with causal',
    problem: { n: 2, queryLength: 20, keyLength: 20, headDim: 6, valueDim: 6, causalOffset: 0 },
    mask: { slices: false, queries: true, keys: false, density: 0.5 },
  },
  {
    name: 'sparse mask [1, Lq, Lk]',
    problem: { n: 2, queryLength: 9, keyLength: 70, headDim: 5, valueDim: 4 },
    mask: { slices: false, queries: true, keys: true, density: 0.1 },
  },
  { name: 'GQA, groups of 2', problem: { n: 4, queryLength: 19, keyLength: 37, headDim: 8, valueDim: 8, groupSize: 2 } },
  {
    name: 'GQA, one k/v slice for 4 heads, causal',
    problem: { n: 4, queryLength: 33, keyLength: 33, headDim: 12, valueDim: 10, groupSize: 4, causalOffset: 0 },
  },
  {
    name: 'sequence-first, 4 heads, GQA 2, causal window',
    problem: {
      n: 8,
      queryLength: 21,
      keyLength: 29,
      headDim: 8,
      valueDim: 5,
      groupSize: 2,
      layout: 'sequence-first',
      heads: 4,
      causalOffset: 8,
      windowStart: -6,
    },
  },
  {
    name: 'sequence-first, 3 heads, masked',
    problem: { n: 6, queryLength: 11, keyLength: 13, headDim: 4, valueDim: 4, layout: 'sequence-first', heads: 3 },
    mask: { slices: true, queries: true, keys: true },
  },
  { name: 'd = dv = 128', problem: { n: 1, queryLength: 40, keyLength: 70, headDim: 128, valueDim: 128 } },
  { name: 'd = 3, dv = 130 (dv ≠ d)', problem: { n: 1, queryLength: 7, keyLength: 9, headDim: 3, valueDim: 130 } },
  {
    name: 'large logits (log-sum-exp past 16: the backward recomputes m and l)',
    problem: { n: 2, queryLength: 20, keyLength: 30, headDim: 8, valueDim: 8, causalOffset: 3 },
    logitScale: 60,
  },
  {
    name: 'ALiBi with a query position offset, 2 heads, causal',
    problem: { n: 4, queryLength: 33, keyLength: 40, headDim: 8, valueDim: 6, heads: 2, causalOffset: 7 },
    variants: { alibi: true },
  },
  {
    name: 'relative position bias, Lq ≠ Lk, masked',
    problem: { n: 4, queryLength: 19, keyLength: 35, headDim: 5, valueDim: 7, heads: 2 },
    mask: { slices: true, queries: false, keys: true },
    variants: { positionBias: true },
  },
  {
    name: 'soft-cap on large logits, GQA',
    problem: { n: 4, queryLength: 21, keyLength: 34, headDim: 8, valueDim: 8, heads: 4, groupSize: 2 },
    logitScale: 8,
    variants: { softcap: 5 },
  },
  {
    name: 'sinks, with rows that see no key (logSumExp = sink)',
    problem: { n: 4, queryLength: 20, keyLength: 20, headDim: 6, valueDim: 6, heads: 2, causalOffset: -3 },
    variants: { sinks: true },
  },
  {
    name: 'sinks with large logits (the backward recomputes m and l with the sink)',
    problem: { n: 2, queryLength: 13, keyLength: 17, headDim: 8, valueDim: 4, heads: 2 },
    logitScale: 40,
    variants: { sinks: true },
  },
  {
    name: 'segments (packed sequences), 2 heads',
    problem: { n: 4, queryLength: 30, keyLength: 36, headDim: 4, valueDim: 5, heads: 2 },
    variants: { segments: true },
  },
  {
    name: 'every variant together, sequence-first, GQA, causal window, masked',
    problem: {
      n: 8,
      queryLength: 23,
      keyLength: 31,
      headDim: 9,
      valueDim: 5,
      heads: 4,
      groupSize: 2,
      layout: 'sequence-first',
      causalOffset: 8,
      windowStart: -12,
    },
    mask: { slices: true, queries: true, keys: true, density: 0.8 },
    logitScale: 3,
    variants: { alibi: true, positionBias: true, softcap: 4, sinks: true, segments: true },
  },
  {
    name: 'every variant together, heads-first',
    problem: { n: 4, queryLength: 17, keyLength: 17, headDim: 6, valueDim: 6, heads: 2, causalOffset: 0 },
    logitScale: 3,
    variants: { alibi: true, positionBias: true, softcap: 4, sinks: true, segments: true },
  },
];

/** The variant gradients' sizes of a problem: [H·(Lq + Lk − 1)] and [H] where it has those fields, else 0. */
function variantSizes(problem: AttentionProblem): { positionBias: number; sinks: number } {
  const H = problem.heads ?? 1;
  return { positionBias: problem.positionBias ? H * (problem.queryLength + problem.keyLength - 1) : 0, sinks: problem.sinks ? H : 0 };
}

interface Inputs {
  problem: AttentionProblem;
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  dOut: Float32Array;
}

function inputsOf(c: Case, seed: number): Inputs {
  const rng = new Rng(seed);
  const problem = problemOf(c, rng);
  const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, groupSize } = problem;
  const nKv = n / groupSize;
  return {
    problem,
    q: randomArray(rng, n * Lq * d, c.logitScale ?? 1),
    k: randomArray(rng, nKv * Lk * d),
    v: randomArray(rng, nKv * Lk * dv),
    dOut: randomArray(rng, n * Lq * dv),
  };
}

/** max over entries of |a − b| / (atol + rtol·|b|): ≤ 1 passes; and the max abs error, for the failure message. */
function compare(
  actual: Float32Array,
  expected: Float32Array,
  tolerance: { atol: number; rtol: number },
): { ratio: number; maxError: number } {
  expect(actual.length).toBe(expected.length);
  let ratio = 0;
  let maxError = 0;
  for (let x = 0; x < expected.length; x++) {
    const a = actual[x]!;
    const b = expected[x]!;
    if (a === b) continue; // ±∞ equal
    const error = Math.abs(a - b);
    if (!(error <= Number.MAX_VALUE)) return { ratio: Number.POSITIVE_INFINITY, maxError: error };
    maxError = Math.max(maxError, error);
    ratio = Math.max(ratio, error / (tolerance.atol + tolerance.rtol * Math.abs(b)));
  }
  return { ratio, maxError };
}

function expectClose(label: string, actual: Float32Array, expected: Float32Array, tolerance: { atol: number; rtol: number }): void {
  const { ratio, maxError } = compare(actual, expected, tolerance);
  expect(ratio, `${label}: max abs error ${maxError}`).toBeLessThanOrEqual(1);
  for (const x of actual) expect(Number.isNaN(x), `${label}: NaN`).toBe(false);
}

describe('createAttentionKernels: forward and backward against the JS kernels', () => {
  it.each(cases.map((c, index) => [c.name, c, index] as const))('%s', async (_name, c, index) => {
    const { problem, q, k, v, dOut } = inputsOf(c, 100 + index);
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, groupSize } = problem;
    const nKv = n / groupSize;
    const js = plainKernels();
    const out = new Float32Array(n * Lq * dv);
    const logSumExp = new Float32Array(n * Lq);
    js.attentionForward(problem, q, k, v, out, logSumExp);
    const dq = new Float32Array(n * Lq * d);
    const dk = new Float32Array(nKv * Lk * d);
    const dvExpected = new Float32Array(nKv * Lk * dv);
    const sizes = variantSizes(problem);
    const variantGradients = { positionBias: new Float32Array(sizes.positionBias), sinks: new Float32Array(sizes.sinks) };
    js.attentionBackward(problem, q, k, v, out, logSumExp, dOut, dq, dk, dvExpected, variantGradients);

    const buffers = {
      q: uploadFloats(device, q),
      k: uploadFloats(device, k),
      v: uploadFloats(device, v),
      out: uploadFloats(device, new Float32Array(out.length).fill(Number.NaN)),
      logSumExp: uploadFloats(device, new Float32Array(logSumExp.length).fill(Number.NaN)),
    };
    kernels.forward(problem, buffers);
    expectClose('out', await readFloats(device, buffers.out, out.length), out, FORWARD);
    expectClose('logSumExp', await readFloats(device, buffers.logSumExp, logSumExp.length), logSumExp, FORWARD);

    // The backward from the JS forward's out and logSumExp, so that it is tested on its own.
    const gradients = {
      dq: uploadFloats(device, new Float32Array(dq.length).fill(Number.NaN)),
      dk: uploadFloats(device, new Float32Array(dk.length).fill(Number.NaN)),
      dv: uploadFloats(device, new Float32Array(dvExpected.length).fill(Number.NaN)),
      positionBiasGradient: uploadFloats(device, new Float32Array(sizes.positionBias).fill(Number.NaN)),
      sinksGradient: uploadFloats(device, new Float32Array(sizes.sinks).fill(Number.NaN)),
    };
    kernels.backward(problem, {
      ...buffers,
      out: uploadFloats(device, out),
      logSumExp: uploadFloats(device, logSumExp),
      dOut: uploadFloats(device, dOut),
      ...gradients,
    });
    expectClose('dq', await readFloats(device, gradients.dq, dq.length), dq, BACKWARD);
    expectClose('dk', await readFloats(device, gradients.dk, dk.length), dk, BACKWARD);
    expectClose('dv', await readFloats(device, gradients.dv, dvExpected.length), dvExpected, BACKWARD);
    const { positionBiasGradient, sinksGradient } = gradients;
    expectClose(
      'd positionBias',
      await readFloats(device, positionBiasGradient, sizes.positionBias),
      variantGradients.positionBias,
      BACKWARD,
    );
    expectClose('d sinks', await readFloats(device, sinksGradient, sizes.sinks), variantGradients.sinks, BACKWARD);
  });
});

describe('createAttentionKernels: weights of chosen rows and their gradient against the JS kernels', () => {
  const headsFirst = cases.map((c, index) => [c.name, c, index] as const).filter(([, c]) => c.problem.layout !== 'sequence-first');
  it.each(headsFirst)('%s', async (_name, c, index) => {
    const { problem, q, k, v } = inputsOf(c, 200 + index);
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, groupSize } = problem;
    const nKv = n / groupSize;
    const rng = new Rng(300 + index);
    const rows = Int32Array.from([0, Lq - 1, Math.floor(Lq / 2), 0]); // row 0 twice: its gradients add up
    const R = rows.length;
    const js = plainKernels();
    const out = new Float32Array(n * Lq * dv);
    const logSumExp = new Float32Array(n * Lq);
    js.attentionForward(problem, q, k, v, out, logSumExp);
    const weights = new Float32Array(n * R * Lk);
    js.attentionWeights(problem, q, k, logSumExp, rows, weights);
    const dWeights = randomArray(rng, n * R * Lk);
    const dqStart = randomArray(rng, n * Lq * d);
    const dkStart = randomArray(rng, nKv * Lk * d);
    const dq = dqStart.slice();
    const dk = dkStart.slice();
    const sizes = variantSizes(problem);
    const positionBiasStart = randomArray(rng, sizes.positionBias);
    const sinksStart = randomArray(rng, sizes.sinks);
    const variantGradients = { positionBias: positionBiasStart.slice(), sinks: sinksStart.slice() };
    js.attentionWeightsBackward(problem, q, k, rows, weights, dWeights, dq, dk, variantGradients);

    const qBuffer = uploadFloats(device, q);
    const kBuffer = uploadFloats(device, k);
    const weightsBuffer = uploadFloats(device, new Float32Array(weights.length).fill(Number.NaN));
    kernels.weights(problem, rows, { q: qBuffer, k: kBuffer, logSumExp: uploadFloats(device, logSumExp), weights: weightsBuffer });
    expectClose('weights', await readFloats(device, weightsBuffer, weights.length), weights, FORWARD);

    const gradients = {
      dq: uploadFloats(device, dqStart),
      dk: uploadFloats(device, dkStart),
      positionBiasGradient: uploadFloats(device, positionBiasStart),
      sinksGradient: uploadFloats(device, sinksStart),
    };
    kernels.weightsBackward(problem, rows, {
      q: qBuffer,
      k: kBuffer,
      weights: uploadFloats(device, weights),
      dWeights: uploadFloats(device, dWeights),
      ...gradients,
    });
    expectClose('weights dq', await readFloats(device, gradients.dq, dq.length), dq, BACKWARD);
    expectClose('weights dk', await readFloats(device, gradients.dk, dk.length), dk, BACKWARD);
    const { positionBiasGradient, sinksGradient } = gradients;
    expectClose(
      'weights d positionBias',
      await readFloats(device, positionBiasGradient, sizes.positionBias),
      variantGradients.positionBias,
      BACKWARD,
    );
    expectClose('weights d sinks', await readFloats(device, sinksGradient, sizes.sinks), variantGradients.sinks, BACKWARD);
  });
});

describe('createAttentionKernels: calls', () => {
  const c = cases[1]!;

  it('records into a given encoder and returns its temporaries; the mask may live on the GPU', async () => {
    const { problem: plain, q, k, v } = inputsOf({ ...c, mask: { slices: false, queries: true, keys: true } }, 7);
    const { n, queryLength: Lq, valueDim: dv } = plain;
    const expected = new Float32Array(n * Lq * dv);
    plainKernels().attentionForward(plain, q, k, v, expected, new Float32Array(n * Lq));
    const mask = uploadFloats(device, plain.attentionMask ?? new Float32Array(0));
    const problem = { ...plain, attentionMask: null }; // the mask only on the GPU
    const buffers = {
      q: uploadFloats(device, q),
      k: uploadFloats(device, k),
      v: uploadFloats(device, v),
      out: uploadFloats(device, new Float32Array(n * Lq * dv)),
      logSumExp: uploadFloats(device, new Float32Array(n * Lq)),
      attentionMask: mask,
    };
    const encoder = device.createCommandEncoder();
    const temporaries = kernels.forward(problem, buffers, { encoder });
    expect(temporaries.length).toBeGreaterThan(0);
    device.queue.submit([encoder.finish()]);
    for (const buffer of temporaries) buffer.destroy();
    expectClose('out (encoder)', await readFloats(device, buffers.out, expected.length), expected, FORWARD);
  });

  it('spreads more than 65535 workgroups over a 2D grid', async () => {
    const problem: AttentionProblem = {
      ...inputsOf(c, 9).problem,
      n: 70_000,
      queryLength: 1,
      keyLength: 2,
      headDim: 1,
      valueDim: 1,
      scale: 1,
    };
    const rng = new Rng(10);
    const [q, k, v] = [randomArray(rng, 70_000), randomArray(rng, 140_000), randomArray(rng, 140_000)]; // [n, 1, 1], [n, 2, 1] ×2
    const out = new Float32Array(70_000);
    plainKernels().attentionForward(problem, q, k, v, out, new Float32Array(70_000));
    const buffers = {
      q: uploadFloats(device, q),
      k: uploadFloats(device, k),
      v: uploadFloats(device, v),
      out: uploadFloats(
        device,
        out.map(() => Number.NaN),
      ),
      logSumExp: uploadFloats(device, out),
    };
    kernels.forward(problem, buffers);
    expectClose('out (70000 slices)', await readFloats(device, buffers.out, out.length), out, FORWARD);
  });

  it('returns at once for empty sizes, and gives keys no query sees zero gradients', async () => {
    const { problem: plain } = inputsOf(c, 11);
    const problem = { ...plain, queryLength: 0 };
    const { n, keyLength: Lk, headDim: d, valueDim: dv } = problem;
    const rng = new Rng(12);
    const [k, v] = [randomArray(rng, n * Lk * d), randomArray(rng, n * Lk * dv)];
    const none = uploadFloats(device, new Float32Array(0));
    expect(
      kernels.forward(problem, { q: none, k: uploadFloats(device, k), v: uploadFloats(device, v), out: none, logSumExp: none }),
    ).toEqual([]);
    const dk = uploadFloats(device, new Float32Array(n * Lk * d).fill(Number.NaN));
    const dvBuffer = uploadFloats(device, new Float32Array(n * Lk * dv).fill(Number.NaN));
    const kv = { k: uploadFloats(device, k), v: uploadFloats(device, v) };
    kernels.backward(problem, { q: none, ...kv, out: none, logSumExp: none, dOut: none, dq: none, dk, dv: dvBuffer });
    expect(Array.from(await readFloats(device, dk, n * Lk * d))).toEqual(new Array(n * Lk * d).fill(0));
    expect(Array.from(await readFloats(device, dvBuffer, n * Lk * dv))).toEqual(new Array(n * Lk * dv).fill(0));
    const noRows = new Int32Array(0);
    expect(kernels.weights(problem, noRows, { q: none, k: kv.k, logSumExp: none, weights: none })).toEqual([]);
    expect(kernels.weightsBackward(problem, noRows, { q: none, k: kv.k, weights: none, dWeights: none, dq: none, dk })).toEqual([]);
  });

  it('skips a variant gradient whose buffer is not given', async () => {
    const { problem: plain, q, k, v, dOut } = inputsOf(c, 13);
    const problem = {
      ...plain,
      sinks: Float32Array.of(0.5),
      positionBias: new Float32Array(plain.queryLength + plain.keyLength - 1).fill(0.25),
    };
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv } = problem;
    const js = plainKernels();
    const [out, logSumExp, dq] = [new Float32Array(n * Lq * dv), new Float32Array(n * Lq), new Float32Array(n * Lq * d)];
    js.attentionForward(problem, q, k, v, out, logSumExp);
    js.attentionBackward(problem, q, k, v, out, logSumExp, dOut, dq, new Float32Array(n * Lk * d), new Float32Array(n * Lk * dv));
    const dqBuffer = uploadFloats(device, new Float32Array(dq.length));
    const inputs = {
      q: uploadFloats(device, q),
      k: uploadFloats(device, k),
      v: uploadFloats(device, v),
      out: uploadFloats(device, out),
      logSumExp: uploadFloats(device, logSumExp),
    };
    const gradients = {
      dOut: uploadFloats(device, dOut),
      dq: dqBuffer,
      dk: uploadFloats(device, new Float32Array(n * Lk * d)),
      dv: uploadFloats(device, new Float32Array(n * Lk * dv)),
    };
    kernels.backward(problem, { ...inputs, ...gradients });
    expectClose('dq (no variant gradients)', await readFloats(device, dqBuffer, dq.length), dq, BACKWARD);
  });

  it('refuses what it cannot run, naming the call and the argument, before recording anything', () => {
    const { problem } = inputsOf(c, 8);
    const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv } = problem;
    const buffer = (values: number) => uploadFloats(device, new Float32Array(values));
    const buffers = {
      q: buffer(n * Lq * d),
      k: buffer(n * Lk * d),
      v: buffer(n * Lk * dv),
      out: buffer(n * Lq * dv),
      logSumExp: buffer(n * Lq),
    };
    expect(() => kernels.forward({ ...problem, headDim: MAX_ATTENTION_HEAD_DIM + 1 }, buffers)).toThrow(ConfigError);
    expect(() => kernels.forward({ ...problem, headDim: MAX_ATTENTION_HEAD_DIM + 1 }, buffers)).toThrow(
      /attentionForward: problem.headDim must be an integer from 1 to 256/,
    );
    expect(() => kernels.forward(problem, { ...buffers, out: buffer(3) })).toThrow(ShapeError);
    expect(() => kernels.forward(problem, { ...buffers, out: buffer(3) })).toThrow(/buffers.out holds 12 bytes, needs/);
    expect(() => kernels.forward({ ...problem, groupSize: 3 }, buffers)).toThrow(/groupSize \(3\) must divide n \(2\)/);
    expect(() => kernels.forward({ ...problem, attentionMask: new Float32Array(4), attentionMaskStrides: [0, 1, 1] }, buffers)).toThrow(
      /attentionMask of 4 values read with strides \[0, 1, 1\] reaches index 38/,
    );
    expect(() =>
      kernels.weights(problem, Int32Array.from([Lq]), {
        q: buffers.q,
        k: buffers.k,
        logSumExp: buffers.logSumExp,
        weights: buffer(n * Lk),
      }),
    ).toThrow(ArgumentError);
    const backwardBuffers = { ...buffers, dOut: buffers.out, dq: buffers.q, dk: buffers.k, dv: buffers.v };
    const twoHeads = { ...problem, heads: 2, sinks: new Float32Array(2) };
    expect(() => kernels.backward(twoHeads, { ...backwardBuffers, sinksGradient: buffer(1) })).toThrow(
      /attentionBackward: buffers.sinksGradient holds 4 bytes, needs 2 float32 values \(8 bytes\)/,
    );
    expect(() => kernels.forward({ ...problem, sinks: new Float32Array(0) }, buffers)).toThrow(/problem.sinks has 0 values, needs 1/);
    expect(() => kernels.forward({ ...problem, softcap: 0 }, buffers)).toThrow(/softcap must be a positive number/);
    const refusals: [string, () => unknown, RegExp][] = [
      ['problem', () => kernels.forward(null as never, buffers), /problem must be an AttentionProblem, got null/],
      ['n', () => kernels.forward({ ...problem, n: -1 }, buffers), /problem.n must be a non-negative integer, got -1/],
      ['heads', () => kernels.forward({ ...problem, heads: 3 }, buffers), /problem.heads \(3\) must divide n \(2\)$/],
      [
        'heads',
        () => kernels.forward({ ...problem, n: 4, heads: 2, groupSize: 4, layout: 'sequence-first' }, buffers),
        /problem.heads \(2\) must divide n \(4\) and be a multiple of groupSize \(4\)/,
      ],
      ['scale', () => kernels.forward({ ...problem, scale: Number.NaN }, buffers), /problem.scale must be finite, got NaN/],
      ['causalOffset', () => kernels.forward({ ...problem, causalOffset: Number.NaN }, buffers), /problem.causalOffset is NaN/],
      ['windowStart', () => kernels.forward({ ...problem, windowStart: Number.NaN }, buffers), /problem.windowStart is NaN/],
      [
        'keySegments',
        () => kernels.forward({ ...problem, querySegments: new Int32Array(Lq * 2) }, buffers),
        /querySegments and keySegments go together/,
      ],
      [
        'querySegments',
        () => kernels.forward({ ...problem, keySegments: new Int32Array(Lk * 2) }, buffers),
        /querySegments and keySegments go together/,
      ],
      [
        'rows',
        () => kernels.weights(problem, [0] as never, { ...buffers, weights: buffers.out }),
        /rows must be an Int32Array of query indices/,
      ],
      ['q', () => kernels.forward(problem, { ...buffers, q: undefined as never }), /buffers.q must be a GPUBuffer/],
    ];
    for (const [argument, call, message] of refusals) {
      expect(call).toThrow(message);
      expect(call).toThrow(expect.objectContaining({ argument }));
    }
  });
});
