import { type AttentionProblem, plainKernels } from '@heed/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testGpu } from '../../test/test-gpu';
import { requestGpuDevice } from '../request-gpu-device';
import { type AttentionKernels, createAttentionKernels } from './create-attention-kernels';
import { readFloats, uploadFloats } from './gpu-arrays';

// The WGSL kernels at the edges of float32, the cases of @heed/tensor's attention-edge-cases test with the expected
// values worked out by hand there (or the JS kernels, which accumulate in float64): large logits, tiny temperatures,
// scores past float32's range, values near float32's maximum, exact zeros.
// Shape letters: n slices, Lq queries, Lk keys, d, dv features.

let device: GPUDevice;
let kernels: AttentionKernels;
beforeAll(async () => {
  ({ device } = await requestGpuDevice({ gpu: testGpu() }));
  kernels = createAttentionKernels(device);
});
afterAll(() => device.destroy());

function problemOf(n: number, Lq: number, Lk: number, d: number, dv: number, scale: number): AttentionProblem {
  return {
    n,
    queryLength: Lq,
    keyLength: Lk,
    headDim: d,
    valueDim: dv,
    scale,
    causalOffset: null,
    attentionMask: null,
    attentionMaskStrides: [0, 0, 0],
    groupSize: 1,
  };
}

/** Forward, then backward from the GPU's own out and logSumExp, outputs pre-filled with NaN. */
async function run(p: AttentionProblem, inputs: { q: Float32Array; k: Float32Array; v: Float32Array; dOut: Float32Array }) {
  const { n, queryLength: Lq, keyLength: Lk, headDim: d, valueDim: dv } = p;
  const nan = (length: number) => uploadFloats(device, new Float32Array(length).fill(Number.NaN));
  const buffers = {
    q: uploadFloats(device, inputs.q),
    k: uploadFloats(device, inputs.k),
    v: uploadFloats(device, inputs.v),
    out: nan(n * Lq * dv),
    logSumExp: nan(n * Lq),
  };
  kernels.forward(p, buffers);
  const gradients = { dOut: uploadFloats(device, inputs.dOut), dq: nan(n * Lq * d), dk: nan(n * Lk * d), dv: nan(n * Lk * dv) };
  kernels.backward(p, { ...buffers, ...gradients });
  return {
    out: await readFloats(device, buffers.out, n * Lq * dv),
    lse: await readFloats(device, buffers.logSumExp, n * Lq),
    dq: await readFloats(device, gradients.dq, n * Lq * d),
    dk: await readFloats(device, gradients.dk, n * Lk * d),
    dv: await readFloats(device, gradients.dv, n * Lk * dv),
  };
}

describe('attention kernels at the edges of float32', () => {
  it('is exact at large logits: keys 1e4…1e7 + [0, .5, −.25, .25] match the JS kernels (float64 inside)', async () => {
    for (const offset of [1e4, 1e5, 1e6, 1e7]) {
      const p = problemOf(1, 1, 4, 1, 4, 1);
      const inputs = {
        q: Float32Array.of(1),
        k: Float32Array.from([0, 0.5, -0.25, 0.25], (x) => offset + x),
        v: Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 1 : 0)), // the identity
        dOut: Float32Array.of(-1, 0, 1, -1),
      };
      const got = await run(p, inputs);
      const js = plainKernels();
      const [out, lse, dq, dk, dv] = [
        new Float32Array(4),
        new Float32Array(1),
        new Float32Array(1),
        new Float32Array(4),
        new Float32Array(16),
      ];
      js.attentionForward(p, inputs.q, inputs.k, inputs.v, out, lse);
      js.attentionBackward(p, inputs.q, inputs.k, inputs.v, out, lse, inputs.dOut, dq, dk, dv);
      const close = (a: Float32Array, b: Float32Array, atol: number, label: string) =>
        a.forEach((x, i) =>
          expect(Math.abs(x - b[i]!), `offset ${offset} ${label}[${i}]`).toBeLessThanOrEqual(atol + 1e-5 * Math.abs(b[i]!)),
        );
      close(got.out, out, 1e-6, 'out');
      close(got.dk, dk, 1e-6, 'dk');
      close(got.dv, dv, 1e-6, 'dv');
      // dq = Σ_j dS_j k_j cancels to ~0.1 out of terms of size |k| ≈ offset: float32 products bound it by
      // c·eps32·max|logit|·Σ|dS| (the conditioning of the problem, as in @heed/tensor's test).
      const sumAbsDs = dk.reduce((sum, x) => sum + Math.abs(x), 0);
      close(got.dq, dq, 8 * 2 ** -23 * offset * sumAbsDs, 'dq');
    }
  });

  it('has no NaN at temperature 1e-20 (scale 1e20): one-hot weights, zero gradients', async () => {
    const got = await run(problemOf(1, 1, 4, 1, 2, 1e20), {
      q: Float32Array.of(1),
      k: Float32Array.of(0.3, 0.1, -0.2, 0.29),
      v: Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8),
      dOut: Float32Array.of(0.5, -1),
    });
    expect(Array.from(got.out)).toEqual([1, 2]); // one-hot on key 0
    expect(Array.from(got.dq)).toEqual([0]);
    expect(Array.from(got.dk)).toEqual([0, 0, 0, 0]);
    expect(Array.from(got.dv)).toEqual([0.5, -1, 0, 0, 0, 0, 0, 0]);
  });

  it('treats scores past float32 as ±∞: q·k ≈ 4e40 is uniform over the +∞ keys', async () => {
    // scores: 2e40 → +∞, 2e-20·1e20 = 2 (finite), −2e40 → −∞ (weight 0), 1.3e40 → +∞
    const got = await run(problemOf(1, 1, 4, 2, 2, 1), {
      q: Float32Array.of(1e20, 1e20),
      k: Float32Array.of(1e20, 1e20, 1e-20, 1e-20, -1e20, -1e20, 3e19, 1e20),
      v: Float32Array.of(1, 2, 30, 40, 500, 600, 3, 6),
      dOut: Float32Array.of(1, -1),
    });
    expect(Array.from(got.out)).toEqual([2, 4]); // (v0 + v3) / 2
    expect(Array.from(got.lse)).toEqual([Number.POSITIVE_INFINITY]);
    // By hand: P = [½, 0, 0, ½]; dP_j = dOut·v_j = [−1, −10, −100, −3]; D = P·dP = −2; dS = P ⊙ (dP − D) = [½, 0, 0, −½].
    expect(Array.from(got.dv)).toEqual([0.5, -0.5, 0, 0, 0, 0, 0.5, -0.5]);
    const dk = [0.5e20, 0.5e20, 0, 0, 0, 0, -0.5e20, -0.5e20];
    got.dk.forEach((x, i) => expect(Math.abs(x - dk[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(dk[i]!)));
    expect(Math.abs(got.dq[0]! - 0.5 * (1e20 - 3e19)) / 3.5e19).toBeLessThan(1e-6); // ½ k0 − ½ k3
    expect(got.dq[1]).toBe(0);
  });

  it('keeps values near float32’s maximum finite: uniform weights over 3e38 give 3e38', async () => {
    const got = await run(problemOf(1, 2, 5, 3, 2, 1), {
      q: new Float32Array(6),
      k: Float32Array.from({ length: 15 }, (_, i) => i / 7),
      v: new Float32Array(10).fill(3e38),
      dOut: new Float32Array(4).fill(1),
    });
    for (const x of got.out) expect(Math.abs(x - 3e38) / 3e38).toBeLessThan(1e-6);
  });

  it('leaves exact zeros where the gradient is exactly 0: one visible key gives dq = 0, dk = 0', async () => {
    for (const [d, dv] of [
      [4, 3],
      [16, 37],
      [64, 64],
    ] as const) {
      const random = (size: number, seed: number) => Float32Array.from({ length: size }, (_, i) => Math.sin(seed * 1000 + i * 1.7) * 3);
      const dOut = random(2 * 5 * dv, 4);
      const got = await run(problemOf(2, 5, 1, d, dv, 1 / Math.sqrt(d)), {
        q: random(2 * 5 * d, 1),
        k: random(2 * d, 2),
        v: random(2 * dv, 3),
        dOut,
      });
      expect(
        got.dq.every((x) => x === 0),
        `d=${d} dq`,
      ).toBe(true);
      expect(
        got.dk.every((x) => x === 0),
        `d=${d} dk`,
      ).toBe(true);
      // dv of the single key is the sum of dOut over the 5 rows that see it.
      for (let s = 0; s < 2; s++) {
        for (let x = 0; x < dv; x++) {
          let sum = 0;
          for (let i = 0; i < 5; i++) sum += dOut[(s * 5 + i) * dv + x]!;
          expect(Math.abs(got.dv[s * dv + x]! - sum)).toBeLessThan(1e-5);
        }
      }
    }
  });
});
