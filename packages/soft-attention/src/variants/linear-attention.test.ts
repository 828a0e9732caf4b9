import {
  add,
  concat,
  full,
  gradcheck,
  matmul,
  mul,
  randn,
  Rng,
  registerDevice,
  ShapeError,
  slice,
  sum,
  toDevice,
  unregisterDevice,
} from '@heed/tensor';
import { createHostDeviceBackend } from '@heed/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertClose,
  backwardFromFixture,
  checkGrads,
  checkOutput,
  loadVariantFixture,
  toHeed,
  toleranceOf,
} from '../../../../fixtures/variants/load-variant-fixture';
import { causalLinearAttention } from './causal-linear-attention';
import { eluFeatureMap } from './elu-feature-map';
import { linearAttention, linearAttentionWeights } from './linear-attention';
import { LinearAttentionState } from './linear-attention-state';

describe('linear attention against the PyTorch fixtures', () => {
  for (const name of ['linear_attention_elu', 'linear_attention_elu_causal']) {
    it(`${name}: output, implied weights, normalizer and the gradients of q, k, v`, () => {
      const fixture = loadVariantFixture(name);
      const causal = fixture.config.causal === true;
      const q = toHeed(fixture.inputs.q!, true);
      const k = toHeed(fixture.inputs.k!, true);
      const v = toHeed(fixture.inputs.v!, true);
      const output = linearAttention(q, k, v, { causal });
      checkOutput(fixture, 'output', output);
      checkOutput(fixture, 'attn_weights', linearAttentionWeights(q, k, { causal }));
      // normalizer_i = φ(q_i)·Σ_{j(≤i)} φ(k_j), by a naive loop over the feature maps
      const [phiQ, phiK] = [eluFeatureMap(q), eluFeatureMap(k)];
      const [L, d] = [q.shape.at(-2)!, q.shape.at(-1)!];
      const rows = q.size / d;
      const normalizer = new Float64Array(rows);
      for (let row = 0; row < rows; row++) {
        const [n, i] = [Math.floor(row / L), row % L];
        for (let j = 0; j < L; j++)
          if (!causal || j <= i) for (let a = 0; a < d; a++) normalizer[row]! += phiQ.data[row * d + a]! * phiK.data[(n * L + j) * d + a]!;
      }
      assertClose(
        'normalizer',
        { shape: fixture.outputs.normalizer!.shape, data: normalizer },
        fixture.outputs.normalizer!,
        toleranceOf(fixture),
      );
      backwardFromFixture(fixture, 'output', output);
      checkGrads(fixture, 'inputs', { q, k, v });
    });
  }
});

describe('linear attention as a part', () => {
  it('the causal kernel’s hand-written backward matches finite differences', () => {
    const rng = new Rng(21);
    const phiQ = eluFeatureMap(randn([2, 5, 3], rng));
    const phiK = eluFeatureMap(randn([2, 5, 3], rng));
    const v = randn([2, 5, 4], rng);
    const check = gradcheck((a, b, c) => causalLinearAttention(a!, b!, c!), [phiQ, phiK, v]);
    expect(check.ok, JSON.stringify(check)).toBe(true);
  });

  it('causal equals the non-causal formula applied to each prefix', () => {
    const rng = new Rng(22);
    const [q, k, v] = [randn([1, 2, 6, 3], rng), randn([1, 2, 6, 3], rng), randn([1, 2, 6, 2], rng)];
    const causal = linearAttention(q, k, v, { causal: true });
    for (let i = 0; i < 6; i++) {
      const prefix = linearAttention(slice(q, 2, i, i + 1), slice(k, 2, 0, i + 1), slice(v, 2, 0, i + 1));
      assertClose(`row ${i}`, slice(causal, 2, i, i + 1), prefix, { rtol: 1e-5, atol: 1e-6 });
    }
  });

  it('LinearAttentionState: stepping position by position equals the causal pass, gradients too', () => {
    const rng = new Rng(23);
    const make = (shape: number[]) => randn(shape, rng, { requiresGrad: true });
    const [q, k, v] = [make([2, 2, 7, 4]), make([2, 2, 7, 4]), make([2, 2, 7, 3])];
    const upstream = randn([2, 2, 7, 3], rng);
    const full = linearAttention(q, k, v, { causal: true });
    sum(mul(full, upstream)).backward();
    const fullGrads = [q, k, v].map((t) => t.grad!.data.slice());
    for (const t of [q, k, v]) t.grad = null;
    const state = new LinearAttentionState();
    const steps = Array.from({ length: 7 }, (_, t) => state.step(slice(q, 2, t, t + 1), slice(k, 2, t, t + 1), slice(v, 2, t, t + 1)));
    const stepped = concat(steps, 2); // [2, 2, 7, 3]
    assertClose('stepped', stepped, full, { rtol: 1e-5, atol: 1e-6 });
    expect(state.length).toBe(7);
    sum(mul(stepped, upstream)).backward();
    [q, k, v].forEach((t, n) => assertClose(`grad ${n}`, t.grad!, { shape: t.shape, data: fullGrads[n]! }, { rtol: 1e-4, atol: 1e-5 }));
  });

  it("LinearAttentionState: where φ(q)·φ(k) is below float32's range (q ≈ −80, k ≈ −30) it gives the causal pass's numbers, never NaN", () => {
    // φ(−80) ≈ 1.8e-35 and φ(−30) ≈ 9.4e-14: each φ(q)_a·Z_a ≈ 1.7e-48 rounds to 0 in float32, not in the batch pass's
    // float64 sums; the output, a weighted mean of the values, is well defined.
    const rng = new Rng(25);
    const around = (shape: number[], centre: number) => add(full(shape, centre), mul(randn(shape, rng), 0.1)); // [..., L, d]
    const [q, k, v] = [around([2, 5, 4], -80), around([2, 5, 4], -30), randn([2, 5, 3], rng)];
    const fullPass = linearAttention(q, k, v, { causal: true }); // [2, 5, 3]
    expect(Array.from(fullPass.data).every(Number.isFinite)).toBe(true);
    const state = new LinearAttentionState();
    const stepped = concat(
      Array.from({ length: 5 }, (_, t) => state.step(slice(q, 1, t, t + 1), slice(k, 1, t, t + 1), slice(v, 1, t, t + 1))),
      1,
    ); // [2, 5, 3]
    assertClose('stepped', stepped, fullPass, { rtol: 1e-5, atol: 1e-6 });
  });

  it("linearAttention and its weights, non-causal: at q ≈ −80, k ≈ −30 the last query row is the causal pass's, never a refusal", () => {
    const rng = new Rng(26);
    const around = (shape: number[], centre: number) => add(full(shape, centre), mul(randn(shape, rng), 0.1)); // [..., L, d]
    const [q, k, v] = [around([2, 5, 4], -80), around([2, 5, 4], -30), randn([2, 5, 3], rng)];
    const last = slice(linearAttention(q, k, v, { causal: true }), 1, 4, 5); // [2, 1, 3]: the last query sees every key
    assertClose('non-causal', linearAttention(slice(q, 1, 4, 5), k, v), last, { rtol: 1e-5, atol: 1e-6 });
    const weights = linearAttentionWeights(slice(q, 1, 4, 5), k); // [2, 1, 5]
    assertClose('weights · values', matmul(weights, v), last, { rtol: 1e-5, atol: 1e-6 });
  });

  it('refuses mismatched shapes, causal with Lq ≠ Lk, and a step of two positions', () => {
    const rng = new Rng(24);
    expect(() => linearAttention(randn([2, 3], rng), randn([4, 2], rng), randn([4, 1], rng))).toThrow(ShapeError);
    expect(() => linearAttention(randn([2, 3], rng), randn([4, 3], rng), randn([4, 1], rng), { causal: true })).toThrow(/Lq = Lk/);
    expect(() => new LinearAttentionState().step(randn([2, 3], rng), randn([2, 3], rng), randn([2, 1], rng))).toThrow(/one position/);
  });
});

describe('causal linear attention on a device (the host device backend: every op takes its device branch)', () => {
  beforeAll(() => registerDevice(createHostDeviceBackend('linear-host')));
  afterAll(() => unregisterDevice('linear-host'));

  for (const L of [6, 150]) {
    it(`L = ${L}${L > 64 ? ' (chunks of 64, 64 and 22)' : ''}: equals a naive prefix loop; its gradients equal those of the CPU kernel (prefix sums, hand-written backward)`, async () => {
      const rng = new Rng(24);
      const [d, dv] = [3, 4];
      const make = (shape: number[]) => randn(shape, rng, { requiresGrad: true });
      const [q, k, v] = [make([2, 2, L, d]), make([2, 2, L, d]), make([2, 2, L, dv])]; // [B, H, L, d], [B, H, L, d], [B, H, L, dv]
      const [qDevice, kDevice, vDevice] = await Promise.all([q, k, v].map((t) => toDevice(t, 'linear-host')));
      const output = linearAttention(qDevice!, kDevice!, vDevice!, { causal: true }); // [B, H, L, dv]
      expect(output.device).toBe('linear-host');
      const values = await output.read();
      const phi = (x: number) => (x > 0 ? x + 1 : Math.exp(x));
      for (let n = 0; n < 4; n++)
        for (let i = 0; i < L; i++) {
          const similarity = Array.from({ length: i + 1 }, (_, j) => {
            let dot = 0;
            for (let a = 0; a < d; a++) dot += phi(q.data[(n * L + i) * d + a]!) * phi(k.data[(n * L + j) * d + a]!);
            return dot;
          }); // j ≤ i
          const total = similarity.reduce((x, y) => x + y);
          for (let c = 0; c < dv; c++) {
            const numerator = similarity.reduce((x, s, j) => x + s * v.data[(n * L + j) * dv + c]!, 0);
            expect(values[(n * L + i) * dv + c]).toBeCloseTo(numerator / total, 5);
          }
        }
      const upstream = randn([2, 2, L, dv], rng);
      sum(mul(linearAttention(q, k, v, { causal: true }), upstream)).backward();
      sum(mul(output, await toDevice(upstream, 'linear-host'))).backward();
      for (const [device, cpu] of [
        [qDevice!, q],
        [kDevice!, k],
        [vDevice!, v],
      ] as const)
        (await device.grad!.read()).forEach((g, n) =>
          expect(Math.abs(g - cpu.grad!.data[n]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(g))),
        );
    });
  }
});
