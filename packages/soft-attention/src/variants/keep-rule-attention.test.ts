import { ArgumentError, ConfigError, mul, randn, Rng, sum, Tensor } from '@heed/tensor';
import { spyOnFused } from '@heed/tensor/testing';
import { describe, expect, it } from 'vitest';
import { assertClose } from '../../../../fixtures/load-fixture';
import {
  backwardFromFixture,
  checkGrads,
  checkOutput,
  configNumber,
  loadVariantFixture,
  toHeed,
} from '../../../../fixtures/variants/load-variant-fixture';
import { attend, type AttendOptions } from '../attend';
import { planAttention } from '../plan-attention';
import { Softmax } from '../softmax';
import { ScaledDotScorer } from '@heed/scorers';
import { CausalRule } from './causal-rule';
import { keepRule, type KeepRule } from './keep-rule';
import { LocalWindowRule } from './local-window';
import { SegmentRule } from './segment-mask';
import { SlidingWindowRule } from './sliding-window';

// Keep rules as an attention option (`keepRule`), through the planner, on both paths.
// Shape letters: B batch, H heads, Lq queries, Lk keys, d features, dv value features.

const FORWARD = { rtol: 1e-4, atol: 1e-5 };
const GRADIENT = { rtol: 1e-3, atol: 1e-4 };

type Inputs = Pick<AttendOptions, 'query' | 'keys' | 'values'>;
type Options = Omit<AttendOptions, 'query' | 'keys' | 'values'>;

function inputs(shapes: { query: number[]; keys: number[]; values: number[] }, seed: number): Inputs {
  const rng = new Rng(seed);
  return { query: randn(shapes.query, rng), keys: randn(shapes.keys, rng), values: randn(shapes.values, rng) };
}

/** attend on fresh leaf copies; loss = Σ context ⊙ R (+ Σ weights ⊙ R'): context, weights and the three gradients. */
function run(base: Inputs, options: Options) {
  const [query, keys, values] = [base.query, base.keys, base.values].map((t) => new Tensor(t.data.slice(), t.shape, true)) as [
    Tensor,
    Tensor,
    Tensor,
  ];
  const { context, weights } = attend({ query, keys, values, ...options });
  const rng = new Rng(77);
  let loss = sum(mul(context, randn(context.shape, rng)));
  if (weights) loss = loss.add(sum(mul(weights, randn(weights.shape, rng))));
  loss.backward();
  return { context, weights, dq: query.grad!, dk: keys.grad!, dv: values.grad! };
}

/** The fused run (through the kernels, the rule as key bounds) equals the plain run with the rule materialized as an attentionMask. */
function expectFusedEqualsMaterialized(base: Inputs, rule: KeepRule, options: Options, mask: Tensor, withWeights = false) {
  const spy = spyOnFused();
  const fused = run(base, { ...options, keepRule: rule, implementation: 'fused', needWeights: withWeights });
  spy.restore();
  expect(spy.problems.length).toBeGreaterThan(0);
  for (const p of spy.problems) expect(p.attentionMask === null || p.attentionMask.length < p.queryLength * p.keyLength).toBe(true); // never an [Lq, Lk] mask
  const plain = run(base, { ...options, attentionMask: mask, implementation: 'plain', needWeights: withWeights });
  const planPlain = run(base, { ...options, keepRule: rule, implementation: 'plain', needWeights: withWeights });
  for (const [label, other] of [
    ['materialized mask', plain],
    ['keepRule on the plain path', planPlain],
  ] as const) {
    assertClose(`context (${label})`, fused.context, other.context, FORWARD);
    if (withWeights) assertClose(`weights (${label})`, fused.weights!, other.weights!, FORWARD);
    assertClose(`grad query (${label})`, fused.dq, other.dq, GRADIENT);
    assertClose(`grad keys (${label})`, fused.dk, other.dk, GRADIENT);
    assertClose(`grad values (${label})`, fused.dv, other.dv, GRADIENT);
  }
}

/** A keep-mask [Lq, Lk] written out here from the window's definition (independent of the rule classes). */
function bandMask(Lq: number, Lk: number, allows: (i: number, j: number) => boolean): Tensor {
  return new Tensor(
    Float32Array.from({ length: Lq * Lk }, (_, n) => (allows(Math.floor(n / Lk), n % Lk) ? 1 : 0)),
    [Lq, Lk],
  );
}

describe('window fixtures through the keepRule option, fused and plain', () => {
  const cases = {
    sliding_window_causal: (f: ReturnType<typeof loadVariantFixture>) => new SlidingWindowRule(configNumber(f, 'W')),
    local_window_bidirectional: (f: ReturnType<typeof loadVariantFixture>) => new LocalWindowRule(configNumber(f, 'w')),
  };
  for (const [name, build] of Object.entries(cases)) {
    for (const implementation of ['fused', 'plain'] as const) {
      it(`${name} (${implementation}): weights, output, grads of q, k, v`, () => {
        const fixture = loadVariantFixture(name);
        const q = toHeed(fixture.inputs.q!, true);
        const k = toHeed(fixture.inputs.k!, true);
        const v = toHeed(fixture.inputs.v!, true);
        const spy = spyOnFused();
        const { context, weights } = attend({ query: q, keys: k, values: v, keepRule: build(fixture), implementation });
        spy.restore();
        expect(spy.problems.length > 0).toBe(implementation === 'fused');
        checkOutput(fixture, 'attn_weights', weights);
        checkOutput(fixture, 'output', context);
        backwardFromFixture(fixture, 'output', context);
        checkGrads(fixture, 'inputs', { q, k, v });
      });
    }
  }
});

describe('fused ≡ plain for keep rules', () => {
  const shapes = { query: [2, 4, 37, 8], keys: [2, 2, 70, 8], values: [2, 2, 70, 5] };
  const base = inputs(shapes, 3);
  const [Lq, Lk] = [37, 70];
  const end = Lk - Lq; // bottom-right aligned

  it('sliding window, with an offset (bottom-right), weights from the same pass', () => {
    const W = 9;
    const rule = new SlidingWindowRule(W, end);
    const mask = bandMask(Lq, Lk, (i, j) => j <= i + end && j > i + end - W);
    expectFusedEqualsMaterialized(base, rule, { groupSize: 2 }, mask);
    expectFusedEqualsMaterialized(base, rule, { groupSize: 2 }, mask, true);
  });

  it('local window, and combinations: causal AND local window, window AND causal option, with GQA and keyPaddingMask', () => {
    const rng = new Rng(8);
    const keyPaddingMask = new Tensor(
      Float32Array.from({ length: 2 * Lk }, (_, n) => (n % Lk < 30 || rng.uniform() < 0.6 ? 1 : 0)),
      [2, Lk],
    ); // [B, Lk]
    const w = 6;
    expectFusedEqualsMaterialized(
      base,
      new LocalWindowRule(w, 20),
      { groupSize: 2 },
      bandMask(Lq, Lk, (i, j) => Math.abs(i + 20 - j) <= w),
    );
    const combined = new CausalRule(end).and(new LocalWindowRule(w, end)); // = a sliding window of w + 1
    expectFusedEqualsMaterialized(
      base,
      combined,
      { groupSize: 2, keyPaddingMask },
      bandMask(Lq, Lk, (i, j) => j <= i + end && j >= i + end - w),
    );
    // The causal option ANDs with the rule: the band's upper bound is the smaller one.
    expectFusedEqualsMaterialized(
      base,
      new LocalWindowRule(w, end),
      { groupSize: 2, keyPaddingMask, causal: { offset: end - 2 } },
      bandMask(Lq, Lk, (i, j) => j <= i + end - 2 && j >= i + end - w),
    );
  });

  it("layout 'sequence-first' reads the window the same way", () => {
    const seq = inputs({ query: [2, 37, 4, 8], keys: [2, 70, 2, 8], values: [2, 70, 2, 5] }, 4);
    expectFusedEqualsMaterialized(
      seq,
      new SlidingWindowRule(5, end),
      { groupSize: 2, layout: 'sequence-first' },
      bandMask(Lq, Lk, (i, j) => j <= i + end && j > i + end - 5),
    );
  });
});

describe('planAttention resolves keep rules', () => {
  const scorer = new ScaledDotScorer();
  const normalizer = new Softmax();
  const base = inputs({ query: [2, 5, 4], keys: [2, 7, 4], values: [2, 7, 3] }, 1);
  const planOf = (options: Options) => planAttention({ op: 'attend', ...base, scorer, normalizer }, options);

  it('causal and the windows become one band of keys, never a mask; the causal option is a CausalRule', () => {
    const plan = planOf({ keepRule: new SlidingWindowRule(3), causal: { offset: 1 }, needWeights: false });
    expect([plan.path, plan.keep.mask]).toEqual(['fused', null]);
    expect(plan.keep.rules[0]).toBeInstanceOf(CausalRule);
    expect(plan.keep.band).toEqual({ causalOffset: 0, windowStart: -2 });
    expect(planOf({ keepRule: new LocalWindowRule(2, 1), needWeights: false }).keep.band).toEqual({ causalOffset: 3, windowStart: -1 });
  });

  it("a rule the kernels do not know sends 'auto' to the plain path with a reason; 'fused' is a ConfigError naming the call", () => {
    const even = keepRule('even-keys', (_b, _h, _i, j) => j % 2 === 0);
    for (const rule of [
      even,
      new SlidingWindowRule(2).or(new CausalRule()),
      // The kernels hold one pair of segment ids: a second segments rule ANDed in runs on the plain path.
      new SegmentRule([
        [0, 0, 1, 1, 1, 1, 1],
        [0, 0, 0, 0, 0, 0, 0],
      ]).and(
        new SegmentRule([
          [0, 1, 1, 1, 1, 1, 1],
          [0, 0, 0, 0, 1, 1, 1],
        ]),
      ),
    ]) {
      const plan = planOf({ keepRule: rule, needWeights: false });
      expect(plan.path).toBe('plain');
      expect(plan.reason).toMatch(new RegExp(`the keep rule '${rule.kind === 'and' ? 'segments' : rule.kind}' has no fused kernel`));
      let caught: unknown;
      try {
        planOf({ keepRule: rule, implementation: 'fused' });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect(caught).toMatchObject({ op: 'attend', argument: 'implementation' });
    }
  });

  it('a user-defined rule by (batch, head) works on the plain path, as the same mask written out', () => {
    const strided = keepRule('strided-heads', (b, h, i, j) => j % 2 === h % 2 && (b === 0 || j <= i + 2));
    const heads = inputs({ query: [2, 2, 5, 4], keys: [2, 2, 7, 4], values: [2, 2, 7, 3] }, 6);
    const mask = new Tensor(
      Float32Array.from({ length: 2 * 2 * 5 * 7 }, (_, n) => {
        const [b, h, i, j] = [Math.floor(n / 70), Math.floor(n / 35) % 2, Math.floor(n / 7) % 5, n % 7];
        return j % 2 === h % 2 && (b === 0 || j <= i + 2) ? 1 : 0;
      }),
      [2, 2, 5, 7],
    );
    const byRule = run(heads, { keepRule: strided });
    const byMask = run(heads, { attentionMask: mask });
    assertClose('context', byRule.context, byMask.context, FORWARD);
    assertClose('weights', byRule.weights!, byMask.weights!, FORWARD);
    assertClose('grad query', byRule.dq, byMask.dq, GRADIENT);
    const segments = [
      [0, 0, 1, 1, 1, 2, 2],
      [0, 0, 0, 0, 1, 1, 1],
    ];
    const segmentRule = new SegmentRule(
      segments.map((row) => row.slice(2)),
      segments,
    ); // queries at positions 2..6
    const segmentMask = new Tensor(
      Float32Array.from({ length: 2 * 5 * 7 }, (_, n) =>
        segments[Math.floor(n / 35)]![(Math.floor(n / 7) % 5) + 2] === segments[Math.floor(n / 35)]![n % 7] ? 1 : 0,
      ),
      [2, 5, 7],
    );
    assertClose('segments', run(base, { keepRule: segmentRule }).context, run(base, { attentionMask: segmentMask }).context, FORWARD);
  });

  it('refuses a keepRule that is not a KeepRule, naming the call and argument', () => {
    let caught: unknown;
    try {
      planOf({ keepRule: ((_b: number, _h: number, i: number, j: number) => j <= i) as never });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ArgumentError);
    expect(caught).toMatchObject({ op: 'attend', argument: 'keepRule' });
    expect(() => new SlidingWindowRule(3, 0.5)).toThrow(ConfigError);
    expect(() => new CausalRule(NaN)).toThrow(ConfigError);
  });
});
