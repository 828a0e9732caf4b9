import {
  ConfigError,
  DeviceError,
  Parameter,
  randn,
  Rng,
  registerDevice,
  slice,
  sum,
  Tensor,
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
  values,
} from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { causalMask } from '../masks';
import { AlibiBias, alibiScorer } from './alibi-bias';
import { alibiSlopes } from './alibi-slopes';
import { BiasedScorer } from './biased-scorer';

describe('ALiBi against the PyTorch fixtures', () => {
  for (const name of ['alibi_causal', 'alibi_non_power_of_two']) {
    it(`${name}: slopes exactly, the bias, weights, output and the gradients of q, k, v`, () => {
      const fixture = loadVariantFixture(name);
      const q = toHeed(fixture.inputs.q!, true);
      const k = toHeed(fixture.inputs.k!, true);
      const v = toHeed(fixture.inputs.v!, true);
      const [, H, L] = q.shape as [number, number, number];
      expect(alibiSlopes(H)).toEqual(Array.from(values(fixture.outputs.slopes!)));
      expect(alibiSlopes(H)).toEqual(fixture.config.slopes);
      const alibi = new AlibiBias(H);
      checkOutput(fixture, 'alibi_bias', alibi.bias(L, L, 0));
      const { context, weights } = attend({
        query: q,
        keys: k,
        values: v,
        scorer: new BiasedScorer(alibi),
        causal: fixture.config.causal === true,
      });
      checkOutput(fixture, 'attn_weights', weights);
      checkOutput(fixture, 'output', context);
      backwardFromFixture(fixture, 'output', context);
      checkGrads(fixture, 'inputs', { q, k, v });
    });
  }
});

describe('ALiBi as a part', () => {
  it('slopes for 1, 3, 12 heads follow get_slopes (geometric for powers of two, interleaved otherwise)', () => {
    expect(alibiSlopes(1)).toEqual([2 ** -8]);
    expect(alibiSlopes(3)).toEqual([2 ** -4, 2 ** -8, 2 ** -2]);
    const twelve = alibiSlopes(12);
    expect(twelve.slice(0, 8)).toEqual(alibiSlopes(8));
    expect(twelve.slice(8)).toEqual([alibiSlopes(16)[0], alibiSlopes(16)[2], alibiSlopes(16)[4], alibiSlopes(16)[6]]);
  });

  it('decoding with a cache: the last queries with offset bottom-right equal the last rows of the full pass', () => {
    const rng = new Rng(5);
    const [B, H, L, d, P] = [1, 4, 6, 8, 4];
    const q = randn([B, H, L, d], rng);
    const k = randn([B, H, L, d], rng);
    const v = randn([B, H, L, 3], rng);
    const full = attend({ query: q, keys: k, values: v, scorer: alibiScorer(H), causal: true }).context; // [B, H, L, 3]
    const scorer = alibiScorer(H, undefined, { queryPositionOffset: 'bottom-right' });
    const decoded = attend({
      query: slice(q, 2, P),
      keys: k,
      values: v,
      scorer,
      attentionMask: causalMask(L - P, L, { align: 'bottom-right' }),
    }).context; // [B, H, L − P, 3]
    assertClose('decoded', decoded, slice(full, 2, P), { rtol: 1e-5, atol: 1e-6 });
  });

  it('the bias given as attend’s additiveMask gives the same weights as BiasedScorer', () => {
    const rng = new Rng(7);
    const [q, k, v] = [randn([2, 4, 5, 8], rng), randn([2, 4, 5, 8], rng), randn([2, 4, 5, 3], rng)];
    const alibi = new AlibiBias(4);
    const asScorer = attend({ query: q, keys: k, values: v, scorer: new BiasedScorer(alibi), causal: true });
    const asMask = attend({ query: q, keys: k, values: v, additiveMask: alibi.bias(5, 5, 0), causal: true });
    assertClose('weights', asMask.weights, asScorer.weights, { rtol: 1e-6, atol: 1e-7 });
    assertClose('context', asMask.context, asScorer.context, { rtol: 1e-6, atol: 1e-7 });
  });

  it('composes with sparsemax and refuses a bias of the wrong head count', () => {
    const rng = new Rng(6);
    const q = randn([2, 4, 5, 8], rng);
    const k = randn([2, 4, 5, 8], rng);
    const { weights } = attend({
      query: q,
      keys: k,
      values: randn([2, 4, 5, 2], rng),
      scorer: alibiScorer(4),
      normalizer: { kind: 'sparsemax' },
      causal: true,
    });
    const rows = sum(weights, -1);
    rows.data.forEach((s) => expect(s).toBeCloseTo(1, 5));
    expect(() => alibiScorer(3).score(q, k)).toThrow(/alibi bias \[3, 5, 5\] must be \[H, Lq, Lk\] = \[4, 5, 5\]/);
    expect(() => new AlibiBias(0)).toThrow(ConfigError);
  });
});

describe('ALiBi on a device (the host device backend: every op takes its device branch)', () => {
  beforeAll(() => registerDevice(createHostDeviceBackend('alibi-host')));
  afterAll(() => unregisterDevice('alibi-host'));

  it('on the plain path its host bias is uploaded: the context equals a naive causal softmax(q·k/√d + m_h (j − i))·v', async () => {
    const rng = new Rng(51);
    const [B, H, L, d] = [2, 3, 5, 4];
    const [q, k, v] = [randn([B, H, L, d], rng), randn([B, H, L, d], rng), randn([B, H, L, 2], rng)]; // [B, H, L, d], …, [B, H, L, dv]
    const [qDevice, kDevice, vDevice] = await Promise.all([q, k, v].map((t) => toDevice(t, 'alibi-host')));
    const { context } = attend({
      query: qDevice!,
      keys: kDevice!,
      values: vDevice!,
      scorer: alibiScorer(H),
      causal: true,
      implementation: 'plain',
      needWeights: false,
    });
    expect(context.device).toBe('alibi-host');
    const got = await context.read();
    const slopes = alibiSlopes(H);
    for (let n = 0; n < B * H; n++)
      for (let i = 0; i < L; i++) {
        const logits = Array.from({ length: i + 1 }, (_, j) => {
          let dot = 0;
          for (let a = 0; a < d; a++) dot += q.data[(n * L + i) * d + a]! * k.data[(n * L + j) * d + a]!;
          return dot / Math.sqrt(d) + slopes[n % H]! * (j - i);
        }); // j ≤ i
        const top = Math.max(...logits);
        const total = logits.reduce((x, z) => x + Math.exp(z - top), 0);
        for (let c = 0; c < 2; c++) {
          const reference = logits.reduce((x, z, j) => x + (Math.exp(z - top) / total) * v.data[(n * L + j) * 2 + c]!, 0);
          expect(got[(n * L + i) * 2 + c]).toBeCloseTo(reference, 5);
        }
      }
  });

  it('a learned bias left on the CPU with scores on the device is refused by name, never a lost gradient', async () => {
    const weight = new Parameter(new Float32Array([0.5]), [1]);
    const learned = {
      kind: 'learned',
      bias: (Lq: number, Lk: number) => weight.mul(new Tensor(new Float32Array(Lq * Lk).fill(1), [1, Lq, Lk])),
    };
    const rng = new Rng(52);
    const [q, k] = await Promise.all([randn([1, 1, 3, 4], rng), randn([1, 1, 3, 4], rng)].map((t) => toDevice(t, 'alibi-host')));
    expect(() => new BiasedScorer(learned).score(q!, k!)).toThrow(DeviceError);
  });
});
