import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../rng';
import type { AttentionProblem } from '../attention';
import { createAttentionBackwardWasm } from './attention';
import { createAttentionForwardWasm } from './attention';
import { loadWasmKernels, releaseWasmKernels } from './load-wasm-kernels';
import { createMatmulKernelWasm } from './matmul';
import type { WasmKernelInstance } from './wasm-kernel-instance';

// Threads split a product into row blocks, the attention forward into interleaved query panels and its
// backward into key/value slices; every output element is computed by the same instructions as on one
// thread, so the results are bitwise equal.

let single: WasmKernelInstance;
let threaded: WasmKernelInstance;

beforeAll(async () => {
  single = (await loadWasmKernels({ relaxedSimd: false }))!;
  threaded = (await loadWasmKernels({ relaxedSimd: false, threads: 3 }))!;
  expect(single).not.toBeNull();
  // Node has worker_threads and shared memory: the pool must start (a failure, never a skip).
  expect(threaded.pool?.size).toBe(3);
});

afterAll(() => {
  releaseWasmKernels(threaded);
});

const random = (size: number, rng: Rng) => Float32Array.from({ length: size }, () => rng.normal());

describe('WebAssembly kernels on worker threads (shared memory)', () => {
  test('matmul: every transpose flag and edge sizes equal the one-thread kernel bitwise', () => {
    const rng = new Rng(21);
    const one = createMatmulKernelWasm(single);
    const three = createMatmulKernelWasm(threaded);
    for (const [m, n, k] of [
      [1030, 70, 300],
      [97, 513, 129],
      [13, 1100, 80],
      [4, 4096, 64],
    ] as const) {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const a = random(m * k + 3, rng);
        const b = random(k * n + 5, rng);
        const expected = new Float32Array(m * n + 2);
        const got = new Float32Array(m * n + 2).fill(NaN);
        one(a, 3, b, 5, expected, 2, m, n, k, ta, tb);
        three(a, 3, b, 5, got, 2, m, n, k, ta, tb);
        expect(Array.from(got.subarray(0, 2)).every(Number.isNaN)).toBe(true);
        expect(got.subarray(2)).toEqual(expected.subarray(2));
      }
    }
  });

  test('attention forward: causal, masks and GQA equal the one-thread kernel bitwise', () => {
    const rng = new Rng(22);
    const one = createAttentionForwardWasm(single);
    const three = createAttentionForwardWasm(threaded);
    const [n, Lq, Lk, d, dv] = [4, 301, 290, 24, 20];
    const keep = Float32Array.from({ length: Lq * Lk }, () => (rng.uniform() < 0.8 ? 1 : 0));
    const problems: AttentionProblem[] = [
      {
        n,
        queryLength: Lq,
        keyLength: Lk,
        headDim: d,
        valueDim: dv,
        scale: 0.2,
        causalOffset: null,
        attentionMask: null,
        attentionMaskStrides: [0, 0, 0],
        groupSize: 1,
      },
      {
        n,
        queryLength: Lq,
        keyLength: Lk,
        headDim: d,
        valueDim: dv,
        scale: 0.2,
        causalOffset: -11,
        attentionMask: keep,
        attentionMaskStrides: [0, Lk, 1],
        groupSize: 2,
      },
    ];
    for (const p of problems) {
      const nKv = p.n / p.groupSize;
      const [q, k, v] = [random(n * Lq * d, rng), random(nKv * Lk * d, rng), random(nKv * Lk * dv, rng)];
      const run = (kernel: typeof one) => {
        const out = new Float32Array(n * Lq * dv).fill(NaN);
        const lse = new Float32Array(n * Lq).fill(NaN);
        kernel(p, q, k, v, out, lse);
        return { out, lse };
      };
      const expected = run(one);
      const got = run(three);
      expect(got.out).toEqual(expected.out);
      expect(got.lse).toEqual(expected.lse);
      expect(got.out.some(Number.isNaN)).toBe(false);
    }
  });

  test('attention backward: causal, masks, GQA and the sequence-first layout equal the one-thread kernel bitwise', () => {
    const rng = new Rng(23);
    const forward = createAttentionForwardWasm(single);
    const one = createAttentionBackwardWasm(single);
    const three = createAttentionBackwardWasm(threaded);
    const [n, Lq, Lk, d, dv] = [6, 150, 170, 24, 20];
    const keep = Float32Array.from({ length: Lq * Lk }, () => (rng.uniform() < 0.8 ? 1 : 0));
    const base = { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv, scale: 0.2 };
    const problems: AttentionProblem[] = [
      { ...base, causalOffset: null, attentionMask: null, attentionMaskStrides: [0, 0, 0], groupSize: 1 },
      { ...base, causalOffset: -11, attentionMask: keep, attentionMaskStrides: [0, Lk, 1], groupSize: 2 },
      { ...base, causalOffset: 20, attentionMask: null, attentionMaskStrides: [0, 0, 0], groupSize: 1, layout: 'sequence-first', heads: 3 },
    ];
    for (const p of problems) {
      const nKv = p.n / p.groupSize;
      const [q, k, v, g] = [random(n * Lq * d, rng), random(nKv * Lk * d, rng), random(nKv * Lk * dv, rng), random(n * Lq * dv, rng)];
      const out = new Float32Array(n * Lq * dv);
      const lse = new Float32Array(n * Lq);
      forward(p, q, k, v, out, lse);
      const run = (kernel: typeof one) => {
        const grads = [new Float32Array(q.length), new Float32Array(k.length), new Float32Array(v.length)].map((a) => a.fill(NaN)) as [
          Float32Array,
          Float32Array,
          Float32Array,
        ];
        kernel(p, q, k, v, out, lse, g, ...grads);
        return grads;
      };
      const expected = run(one);
      const got = run(three);
      for (let t = 0; t < 3; t++) {
        expect(got[t]).toEqual(expected[t]);
        expect(got[t]!.some(Number.isNaN)).toBe(false);
      }
    }
  });
});
