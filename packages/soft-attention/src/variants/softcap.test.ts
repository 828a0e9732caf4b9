import { ArgumentError, ConfigError, gradcheck, randn, Rng } from '@heed/tensor';
import { ScaledDotScorer } from '@heed/scorers';
import { describe, expect, it } from 'vitest';
import {
  assertClose,
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  loadVariantFixture,
  toHeed,
} from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { softcap } from './softcap';
import { SoftcapScorer } from './softcap-scorer';
import { alibiScorer } from './alibi-bias';

describe('soft-capping against softcap_gemma2', () => {
  it('raw scores, capped scores, weights, output and the gradients of q, k, v', () => {
    const fixture = loadVariantFixture('softcap_gemma2');
    const q = toHeed(fixture.inputs.q!, true);
    const k = toHeed(fixture.inputs.k!, true);
    const v = toHeed(fixture.inputs.v!, true);
    const cap = configNumber(fixture, 'cap');
    const raw = new ScaledDotScorer().score(q, k);
    checkOutput(fixture, 'raw_scores', raw);
    checkOutput(fixture, 'scores', softcap(raw, cap));
    const { context, weights } = attend({
      query: q,
      keys: k,
      values: v,
      scorer: new SoftcapScorer(cap),
      causal: fixture.config.causal === true,
    });
    checkOutput(fixture, 'attn_weights', weights);
    checkOutput(fixture, 'output', context);
    backwardFromFixture(fixture, 'output', context);
    checkGrads(fixture, 'inputs', { q, k, v });
  });
});

describe('softcap as a part', () => {
  it('is cap·tanh(s/cap) elementwise, with the gradient 1 − tanh²(s/cap)', () => {
    const s = randn([3, 4], new Rng(1)).mul(30);
    const capped = softcap(s, 20);
    assertClose('softcap', capped, { shape: [3, 4], data: Array.from(s.data, (x) => 20 * Math.tanh(x / 20)) }, { rtol: 1e-6, atol: 1e-6 });
    const check = gradcheck((x) => softcap(x!, 20), [randn([2, 3], new Rng(2)).mul(30)]);
    expect(check.ok, JSON.stringify(check)).toBe(true);
  });

  it('wraps any scorer, biased ones included (ALiBi then cap)', () => {
    const rng = new Rng(3);
    const q = randn([1, 2, 3, 4], rng);
    const k = randn([1, 2, 3, 4], rng);
    const capped = new SoftcapScorer(0.5, { inner: alibiScorer(2) }).score(q, k);
    const expected = Array.from(alibiScorer(2).score(q, k).data, (x) => 0.5 * Math.tanh(x / 0.5));
    assertClose('softcap(alibi)', capped, { shape: [1, 2, 3, 3], data: expected }, { rtol: 1e-6, atol: 1e-6 });
  });

  it('refuses a cap ≤ 0 or not finite', () => {
    expect(() => new SoftcapScorer(0)).toThrow(ConfigError);
    expect(() => new SoftcapScorer(-1)).toThrow(expect.objectContaining({ op: 'SoftcapScorer', argument: 'cap' }));
    expect(() => softcap(randn([2], new Rng(1)), Infinity)).toThrow(ArgumentError);
  });
});
