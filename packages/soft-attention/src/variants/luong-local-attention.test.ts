import { ConfigError, mul, randn, Rng, registerDevice, StateDictError, sum, type Tensor, toDevice, unregisterDevice } from '@heed/tensor';
import { createHostDeviceBackend } from '@heed/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  integers,
  loadVariantFixture,
  toHeed,
} from '../../../../fixtures/variants/load-variant-fixture';
import { LuongLocalAttention } from './luong-local-attention';

describe('LuongLocalAttention against the PyTorch fixtures', () => {
  for (const name of ['luong_local_p', 'luong_local_m', 'luong_local_m_gaussian']) {
    it(`${name}: window bounds exactly, positions, align, weights, context and every gradient`, () => {
      const fixture = loadVariantFixture(name);
      const mode = fixture.config.mode as 'local-m' | 'local-p';
      const layer = new LuongLocalAttention({
        dim: configNumber(fixture, 'd'),
        mode,
        window: configNumber(fixture, 'D'),
        gaussian: fixture.config.gaussian === true,
        ...(mode === 'local-p' ? { predictorDim: configNumber(fixture, 'd_p') } : {}),
      });
      layer.loadTorchStateDict(Object.fromEntries(Object.entries(fixture.params).map(([k, t]) => [k, toHeed(t)])));
      const h = toHeed(fixture.inputs.h!, true);
      const hs = toHeed(fixture.inputs.hs!, true);
      const result = layer.forward(h, hs);
      expect(Array.from(result.windowStart.data)).toEqual(integers(fixture.outputs.window_start!));
      expect(Array.from(result.windowEnd.data)).toEqual(integers(fixture.outputs.window_end!));
      if (fixture.outputs.p) checkOutput(fixture, 'p', result.positions);
      if (fixture.outputs.align) checkOutput(fixture, 'align', result.align);
      checkOutput(fixture, 'attn_weights', result.weights);
      checkOutput(fixture, 'context', result.context);
      backwardFromFixture(fixture, 'context', result.context);
      checkGrads(fixture, 'inputs', { h, hs });
      const named = new Map(layer.namedParameters());
      checkGrads(fixture, 'params', {
        'W_a.weight': named.get('scoreProjection.weight'),
        'W_p.weight': named.get('positionProjection.weight'),
        v_p: named.get('positionVector'),
      });
    });
  }

  it('refuses bad configurations and foreign weights, naming the argument', () => {
    expect(() => new LuongLocalAttention({ dim: 4, mode: 'local-x' as 'local-m', window: 2 })).toThrow(ConfigError);
    expect(() => new LuongLocalAttention({ dim: 4, mode: 'local-p', window: 0 })).toThrow(
      expect.objectContaining({ op: 'LuongLocalAttention', argument: 'window' }),
    );
    expect(() => new LuongLocalAttention({ dim: 4, mode: 'local-m', window: 2, predictorDim: 3 })).toThrow(/local-m has none/);
    const layer = new LuongLocalAttention({ dim: 4, mode: 'local-m', window: 2, rng: new Rng(1) });
    expect(() => layer.loadTorchStateDict({ v_p: randn([4], new Rng(2)) })).toThrow(StateDictError);
    expect(() => layer.loadTorchStateDict({ 'W_a.weight': randn([4, 3], new Rng(2)) })).toThrow(
      /'W_a.weight' has shape \[4, 3\], this layer expects \[4, 4\]/,
    );
    expect(() => layer.forward(randn([1, 2, 4], new Rng(3)), randn([2, 5, 4], new Rng(4)))).toThrow(/must be \[B, T, d\] and \[B, S, d\]/);
  });
});

/**
 * Luong local attention written out for one (b, t): the window [p − D, p + D] ∩ [0, S − 1] by ceil and floor, the
 * softmax of hᵀ W_a hs_s inside it, times the Gaussian; in float64. h [B, T, d], hs [B, S, d], W_a [d, d], p [B, T].
 */
function naiveLocalAttention(h: Tensor, hs: Tensor, W: ArrayLike<number>, p: ArrayLike<number>, D: number, gaussian: boolean) {
  const [B, T, d] = h.shape as [number, number, number];
  const S = hs.shape[1]!;
  const [start, end, weights, context] = [[] as number[], [] as number[], [] as number[], [] as number[]];
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++) {
      const n = b * T + t;
      const [from, to] = [Math.max(0, Math.ceil(p[n]! - D)), Math.min(S - 1, Math.floor(p[n]! + D))];
      start.push(from);
      end.push(to);
      const score = (s: number) => {
        let total = 0;
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) total += h.data[n * d + i]! * W[i * d + j]! * hs.data[(b * S + s) * d + j]!; // h · (W hs)
        return total;
      };
      const scores = Array.from({ length: S }, (_, s) => (s >= from && s <= to ? score(s) : -Infinity));
      const top = Math.max(...scores);
      const total = scores.reduce((a, z) => a + Math.exp(z - top), 0);
      const row = scores.map((z, s) => (Math.exp(z - top) / total) * (gaussian ? Math.exp(-((s - p[n]!) ** 2) / (2 * (D / 2) ** 2)) : 1));
      weights.push(...row);
      for (let j = 0; j < d; j++) context.push(row.reduce((a, w, s) => a + w * hs.data[(b * S + s) * d + j]!, 0));
    }
  return { start, end, weights, context };
}

describe('LuongLocalAttention on a device (the host device backend: every op takes its device branch)', () => {
  beforeAll(() => registerDevice(createHostDeviceBackend('luong-host')));
  afterAll(() => unregisterDevice('luong-host'));

  for (const [mode, gaussian] of [
    ['local-m', false],
    ['local-m', true],
    ['local-p', true],
  ] as const) {
    it(`${mode}${gaussian ? ' with the Gaussian' : ''}: window bounds exactly, weights and context equal a naive loop; gradients equal the CPU's`, async () => {
      const rng = new Rng(31);
      const D = 2;
      const layer = new LuongLocalAttention({ dim: 3, mode, window: D, gaussian, rng }); // local-m: p_t = t, bounds on integers
      const [h, hs] = [randn([2, 6, 3], rng, { requiresGrad: true }), randn([2, 7, 3], rng, { requiresGrad: true })]; // [B, T, d], [B, S, d]
      const cpu = layer.forward(h, hs);
      const positions = Array.from(cpu.positions.data);
      if (mode === 'local-m') expect(positions).toEqual(Array.from({ length: 12 }, (_, n) => n % 6));
      const upstream = randn([2, 6, 3], rng);
      sum(mul(cpu.context, upstream)).backward();
      const cpuGradients = [h.grad!, hs.grad!, ...layer.parameters().map((p) => p.grad!)].map((g) => Array.from(g.data));
      layer.zeroGrad();
      const W = Float32Array.from(layer.scoreProjection.weight.data); // [d, d]
      await layer.toDevice('luong-host');
      const [hDevice, hsDevice] = [await toDevice(h, 'luong-host'), await toDevice(hs, 'luong-host')];
      const result = layer.forward(hDevice, hsDevice);
      expect(result.context.device).toBe('luong-host');
      const devicePositions = Array.from(await result.positions.read());
      const naive = naiveLocalAttention(h, hs, W, devicePositions, D, gaussian);
      expect(Array.from(await result.windowStart.read())).toEqual(naive.start);
      expect(Array.from(await result.windowEnd.read())).toEqual(naive.end);
      (await result.weights.read()).forEach((w, n) => expect(w).toBeCloseTo(naive.weights[n]!, 5));
      (await result.context.read()).forEach((c, n) => expect(c).toBeCloseTo(naive.context[n]!, 5));
      sum(mul(result.context, await toDevice(upstream, 'luong-host'))).backward();
      const deviceGradients = [hDevice.grad!, hsDevice.grad!, ...layer.parameters().map((p) => p.grad!)];
      for (const [i, g] of deviceGradients.entries()) (await g.read()).forEach((v, n) => expect(v).toBeCloseTo(cpuGradients[i]![n]!, 5));
    });
  }
});
