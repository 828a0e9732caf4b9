import { ConfigError } from '@heed/tensor';
import { DotScorer } from '@heed/scorers';
import { describe, expect, it } from 'vitest';
import {
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  integers,
  loadVariantFixture,
  toHeed,
} from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { BiasedScorer } from './biased-scorer';
import { relativePositionBucket } from './relative-position-bucket';
import { RelativePositionBias } from './relative-position-bias';

describe('T5 relative position bias against the PyTorch fixtures', () => {
  for (const name of ['t5_relative_bias_bidirectional', 't5_relative_bias_causal']) {
    it(`${name}: exact buckets, the bias, weights, output and the gradients of q, k, v and the table`, () => {
      const fixture = loadVariantFixture(name);
      const options = {
        bidirectional: fixture.config.bidirectional === true,
        numBuckets: configNumber(fixture, 'num_buckets'),
        maxDistance: configNumber(fixture, 'max_distance'),
      };
      const probes = integers(fixture.inputs.probe_relative_positions!);
      expect(probes.map((r) => relativePositionBucket(r, options))).toEqual(integers(fixture.outputs.probe_buckets!));

      const q = toHeed(fixture.inputs.q!, true);
      const k = toHeed(fixture.inputs.k!, true);
      const v = toHeed(fixture.inputs.v!, true);
      const [, H, L] = q.shape as [number, number, number];
      const positionBias = new RelativePositionBias({ numHeads: H, ...options });
      positionBias.loadStateDict({ relative_attention_bias: toHeed(fixture.params.relative_attention_bias!) });
      expect(Array.from(positionBias.buckets(L, L).data)).toEqual(integers(fixture.outputs.relative_position_bucket!));
      checkOutput(fixture, 'position_bias', positionBias.bias(L, L, 0));

      const scorer = new BiasedScorer(positionBias, { inner: new DotScorer() }); // T5: no 1/√d
      const { context, weights } = attend({ query: q, keys: k, values: v, scorer, causal: fixture.config.causal === true });
      checkOutput(fixture, 'attn_weights', weights);
      checkOutput(fixture, 'output', context);
      backwardFromFixture(fixture, 'output', context);
      checkGrads(fixture, 'inputs', { q, k, v });
      checkGrads(fixture, 'params', Object.fromEntries(positionBias.namedParameters()));
      expect(scorer.namedParameters().map(([n]) => n)).toEqual(['positionBias.relative_attention_bias']);
    });
  }

  it('refuses bad bucket options at construction and non-integer positions at the call', () => {
    expect(() => new RelativePositionBias({ numHeads: 2, numBuckets: 3 })).toThrow(ConfigError);
    expect(() => new RelativePositionBias({ numHeads: 2, maxDistance: 4 })).toThrow(/maxDistance/);
    expect(() => new RelativePositionBias({ numHeads: 0 })).toThrow(
      expect.objectContaining({ op: 'RelativePositionBias', argument: 'numHeads' }),
    );
    expect(() => relativePositionBucket(1.5)).toThrow(/relativePosition must be an integer/);
  });
});
