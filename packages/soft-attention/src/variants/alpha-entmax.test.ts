import { ConfigError, gradcheck, mul, randn, Rng, sum, Tensor } from '@heed/tensor';
import { describe, expect, it } from 'vitest';
import {
  assertClose,
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  integers,
  loadVariantFixture,
  toHeed,
} from '../../../../fixtures/variants/load-variant-fixture';
import { attend } from '../attend';
import { entmax15 } from '../entmax15';
import { sparsemax } from '../sparsemax';
import { alphaEntmax, alphaEntmaxThreshold } from './alpha-entmax';
import { AlphaEntmax } from './alpha-entmax-normalizer';

describe('α-entmax against the PyTorch fixtures', () => {
  for (const name of ['entmax_alpha_1_25', 'entmax_alpha_1_75']) {
    it(`${name}: output, τ, exact support sizes and the gradient of z`, () => {
      const fixture = loadVariantFixture(name);
      const alpha = configNumber(fixture, 'alpha');
      const z = toHeed(fixture.inputs.z!, true);
      const output = alphaEntmax(z, alpha);
      checkOutput(fixture, 'output', output);
      checkOutput(fixture, 'tau', alphaEntmaxThreshold(z, alpha));
      const n = z.shape[1]!;
      const support = Array.from(
        { length: z.shape[0]! },
        (_, r) => Array.from(output.data.subarray(r * n, (r + 1) * n)).filter((p) => p > 0).length,
      );
      expect(support).toEqual(integers(fixture.outputs.support_size!));
      backwardFromFixture(fixture, 'output', output);
      checkGrads(fixture, 'inputs', { z });
    });
  }
});

describe('α-entmax as a part', () => {
  const rng = new Rng(31);
  const z = randn([6, 7], rng).mul(2);

  it('α = 2 equals sparsemax and α = 1.5 equals entmax15 (outputs and gradients)', () => {
    for (const [alpha, reference] of [
      [2, sparsemax],
      [1.5, entmax15],
    ] as const) {
      const upstream = randn([6, 7], rng);
      const a = new Tensor(z.data.slice(), z.shape, true);
      const b = new Tensor(z.data.slice(), z.shape, true);
      const ours = alphaEntmax(a, alpha);
      const theirs = reference(b);
      assertClose(`α = ${alpha}`, ours, theirs, { rtol: 1e-5, atol: 1e-6 });
      sum(mul(ours, upstream)).backward();
      sum(mul(theirs, upstream)).backward();
      assertClose(`grad α = ${alpha}`, a.grad!, b.grad!, { rtol: 1e-4, atol: 1e-5 });
    }
  });

  it('its closed-form gradient matches finite differences for α = 1.3 and 1.8', () => {
    for (const alpha of [1.3, 1.8]) {
      const check = gradcheck((x) => alphaEntmax(x!, alpha), [randn([3, 5], rng)]);
      expect(check.ok, JSON.stringify(check)).toBe(true);
    }
  });

  it('as a normalizer in attend: masked keys get 0, a fully masked row is 0, no NaN', () => {
    const mask = new Tensor(Float32Array.from([1, 1, 0, 1, 0, 0, 0, 0]), [2, 4]); // query 1 sees nothing
    const { weights } = attend({
      query: randn([1, 2, 3], rng),
      keys: randn([1, 4, 3], rng),
      values: randn([1, 4, 2], rng),
      normalizer: new AlphaEntmax({ alpha: 1.6 }),
      attentionMask: mask,
    });
    expect(weights.data[2]).toBe(0);
    expect(sum(weights.reshape([2, 4]), -1).data[0]).toBeCloseTo(1, 5);
    expect(Array.from(weights.data.subarray(4))).toEqual([0, 0, 0, 0]);
  });

  it('refuses α ≤ 1 at construction and at the call', () => {
    expect(() => new AlphaEntmax({ alpha: 1 })).toThrow(ConfigError);
    expect(() => new AlphaEntmax({ alpha: 0.5 })).toThrow(expect.objectContaining({ op: 'AlphaEntmax', argument: 'alpha' }));
    expect(() => alphaEntmax(z, Number.NaN)).toThrow(/alpha must be a finite number > 1/);
  });
});
