import { ConfigError, mul, randn, Rng, registerDevice, sum, tensor, toDevice, unregisterDevice } from '@heed/tensor';
import { createHostDeviceBackend } from '@heed/tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkScorerFixture } from '../../../fixtures/check-scorer-fixture';
import { loadFixture } from '../../../fixtures/load-fixture';
import { CosineScorer } from './cosine';

describe('CosineScorer', () => {
  it('matches PyTorch (cosine_attention, T = 0.125): outputs and gradients', () => {
    checkScorerFixture(loadFixture('cosine_attention'), new CosineScorer({ temperature: 0.125 }));
  });

  it('is scale-invariant and bounded by 1/T', () => {
    const rng = new Rng(4);
    const q = randn([1, 3, 4], rng);
    const k = randn([1, 5, 4], rng);
    const s1 = new CosineScorer({ temperature: 0.5 }).score(q, k);
    const s2 = new CosineScorer({ temperature: 0.5 }).score(q.mul(7), k.mul(0.1));
    for (let i = 0; i < s1.size; i++) {
      expect(s2.data[i]).toBeCloseTo(s1.data[i]!, 5);
      expect(Math.abs(s1.data[i]!)).toBeLessThanOrEqual(2 + 1e-6);
    }
  });

  it('scores a zero vector 0 with finite gradients', () => {
    const q = tensor([[[0, 0, 0]]], undefined, { requiresGrad: true });
    const k = tensor(
      [
        [
          [1, 2, 3],
          [0, 0, 0],
        ],
      ],
      undefined,
      { requiresGrad: true },
    );
    const s = new CosineScorer().score(q, k);
    expect(Array.from(s.data)).toEqual([0, 0]);
    sum(s).backward();
    for (const g of [...q.grad!.data, ...k.grad!.data]) expect(Number.isFinite(g)).toBe(true);
  });

  it('does not overflow: cos(1e20·x, 1e20·x) = 1 and huge or small rows score their true cosine, with finite gradients', () => {
    const q = tensor(
      [
        [
          [1e20, 1e20, 1e20],
          [3e38, -3e38, 0],
        ],
      ],
      undefined,
      { requiresGrad: true },
    );
    const k = tensor(
      [
        [
          [1e20, 1e20, 1e20],
          [1e-5, 2e-5, 0],
          [3e38, -3e38, 0],
        ],
      ],
      undefined,
      { requiresGrad: true },
    );
    const s = new CosineScorer().score(q, k);
    // Independent reference in float64: (q·k) / (‖q‖ ‖k‖) with each row divided by its scale (1e20, 1e-5, 3e38) first.
    const expected = [1, 3 / Math.sqrt(3 * 5), 0, 0, -1 / Math.sqrt(2 * 5), 1];
    for (let i = 0; i < expected.length; i++) expect(s.data[i]).toBeCloseTo(expected[i]!, 6);
    sum(s).backward();
    for (const g of [...q.grad!.data, ...k.grad!.data]) expect(Number.isFinite(g)).toBe(true);
  });

  it('refuses a non-positive temperature', () => {
    expect(() => new CosineScorer({ temperature: 0 })).toThrow(ConfigError);
    expect(() => new CosineScorer({ temperature: -1 })).toThrow(/temperature must be a finite number > 0, got -1/);
  });
});

describe('CosineScorer on a device (the host device backend: every op takes its device branch)', () => {
  beforeAll(() => registerDevice(createHostDeviceBackend('cosine-host')));
  afterAll(() => unregisterDevice('cosine-host'));

  it('equals a naive cosine loop, a zero row and rows near 1e38 included; its gradients equal the CPU ones', async () => {
    const rng = new Rng(9);
    const rows = (values: number[][]) => tensor([values], undefined, { requiresGrad: true });
    const q = rows([
      [0.5, -1, 2],
      [0, 0, 0],
      [3e38, -3e38, 1e38],
    ]); // [1, 3, 3]
    const k = rows([
      [1, 2, 3],
      [-2e-3, 5e-3, 1e-3],
      [0, 0, 0],
      [2e38, 1e38, -3e38],
    ]); // [1, 4, 3]
    const [qDevice, kDevice] = [await toDevice(q, 'cosine-host'), await toDevice(k, 'cosine-host')];
    const scorer = new CosineScorer({ temperature: 0.25 });
    const scores = scorer.score(qDevice, kDevice); // [1, 3, 4]
    expect(scores.device).toBe('cosine-host');
    const values = await scores.read();
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 4; j++) {
        const [a, b] = [q.data.subarray(3 * i, 3 * i + 3), k.data.subarray(3 * j, 3 * j + 3)];
        const norm = (x: Float32Array) => Math.hypot(...x);
        const dot = a.reduce((s, x, c) => s + x * b[c]!, 0);
        const reference = norm(a) === 0 || norm(b) === 0 ? 0 : dot / (norm(a) * norm(b)) / 0.25; // float64
        expect(values[i * 4 + j]).toBeCloseTo(reference, 5);
      }
    const upstream = randn([1, 3, 4], rng);
    sum(mul(scorer.score(q, k), upstream)).backward();
    sum(mul(scores, await toDevice(upstream, 'cosine-host'))).backward();
    for (const [device, cpu] of [
      [await qDevice.grad!.read(), q.grad!.data],
      [await kDevice.grad!.read(), k.grad!.data],
    ] as const)
      device.forEach((g, n) => expect(Math.abs(g - cpu[n]!)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(cpu[n]!)))); // the clamp (eps/c)² rounds once on the CPU, twice here
  });
});
