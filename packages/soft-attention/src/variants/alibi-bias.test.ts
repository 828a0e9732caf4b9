import { ConfigError, randn, Rng, slice, sum } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
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
