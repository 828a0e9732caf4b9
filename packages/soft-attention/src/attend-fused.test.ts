import { ArgumentError, broadcastTo, ConfigError, mul, permute, randn, reshape, Rng, ShapeError, sum, Tensor, tensor } from '@heed/tensor';
import { expectThrows, spyOnFused } from '@heed/tensor/testing';
import { AdditiveScorer, DotScorer, ScaledDotScorer } from '@heed/scorers';
import { afterEach, describe, expect, it } from 'vitest';
import { assertClose, loadFixture, toHeed, torchMaskToKeep } from '../../../fixtures/load-fixture';
import { attend, type AttendOptions } from './attend';
import { Softmax } from './softmax';

// Shape letters: B batch, H heads, Lq queries, Lk keys, d features, dv value features.
// The fused path (one tiled kernel) against the plain three steps, through attend().

const FORWARD = { rtol: 1e-4, atol: 1e-5 };
const GRADIENT = { rtol: 1e-3, atol: 1e-4 };

type Inputs = Pick<AttendOptions, 'query' | 'keys' | 'values'>;

function inputs(shapes: { query: number[]; keys: number[]; values: number[] }, seed: number): Inputs {
  const rng = new Rng(seed);
  return { query: randn(shapes.query, rng), keys: randn(shapes.keys, rng), values: randn(shapes.values, rng) };
}

/** Runs attend on fresh leaf copies; loss = Σ context ⊙ R (+ Σ weights ⊙ R' when weights are asked for). */
function run(base: Inputs, options: Omit<AttendOptions, 'query' | 'keys' | 'values'>) {
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

function expectFusedEqualsPlain(base: Inputs, options: Omit<AttendOptions, 'query' | 'keys' | 'values'>, withWeights = false) {
  const plain = run(base, { ...options, implementation: 'plain', needWeights: withWeights });
  const fused = run(base, { ...options, implementation: 'fused', needWeights: withWeights });
  assertClose('context', fused.context, plain.context, FORWARD);
  if (withWeights) assertClose('weights', fused.weights!, plain.weights!, FORWARD);
  else expect([fused.weights, plain.weights]).toEqual([null, null]);
  assertClose('grad query', fused.dq, plain.dq, GRADIENT);
  assertClose('grad keys', fused.dk, plain.dk, GRADIENT);
  assertClose('grad values', fused.dv, plain.dv, GRADIENT);
}

describe('attend: fused path == plain path', () => {
  const shapes = { query: [2, 37, 8], keys: [2, 70, 8], values: [2, 70, 5] };
  const rng = new Rng(5);
  const keyPaddingMask = new Tensor(
    Float32Array.from({ length: 2 * 70 }, (_, i) => (i % 70 < 40 || rng.uniform() < 0.5 ? 1 : 0)),
    [2, 70],
  ); // [B, Lk]
  const mask = new Tensor(
    Float32Array.from({ length: 37 * 70 }, (_, i) => (i % 70 === 1 || rng.uniform() < 0.7 ? 1 : 0)),
    [37, 70],
  ); // [Lq, Lk]

  it('outputs and gradients agree: default scorer, causal, masks, keyPaddingMask, temperature', () => {
    const base = inputs(shapes, 1);
    expectFusedEqualsPlain(base, {});
    expectFusedEqualsPlain(base, { causal: true });
    expectFusedEqualsPlain(base, { attentionMask: mask });
    expectFusedEqualsPlain(base, { keyPaddingMask, causal: true });
    expectFusedEqualsPlain(base, { attentionMask: mask, keyPaddingMask });
    expectFusedEqualsPlain(base, { scorer: new DotScorer(), normalizer: new Softmax({ temperature: 0.5 }) });
    expectFusedEqualsPlain(base, {
      scorer: new ScaledDotScorer({ scale: 0.3 }),
      normalizer: { kind: 'softmax', temperature: 2 },
      causal: true,
    });
    expectFusedEqualsPlain(base, { scorer: { kind: 'dot' }, dropout: 0.5, training: false });
  });

  it('with heads: query [B, H, Lq, d] and a key padding mask expanded over heads', () => {
    const base = inputs({ query: [2, 3, 20, 4], keys: [2, 3, 33, 4], values: [2, 3, 33, 6] }, 2);
    const kpm = tensor([
      Array.from({ length: 33 }, (_, j) => (j < 30 ? 1 : 0)),
      Array.from({ length: 33 }, (_, j) => (j % 4 === 0 ? 0 : 1)),
    ]); // [B, Lk]
    expectFusedEqualsPlain(base, { keyPaddingMask: kpm, causal: true });
  });

  it('the weights of the fused path (needWeights) equal the plain ones, gradients through them included', () => {
    const base = inputs(shapes, 3);
    expectFusedEqualsPlain(base, { keyPaddingMask, causal: true }, true);
    expectFusedEqualsPlain(base, { scorer: new DotScorer(), normalizer: new Softmax({ temperature: 3 }), attentionMask: mask }, true);
  });

  it('a fully masked row: zero context, zero weights, finite gradients on both paths', () => {
    const base = inputs({ query: [1, 4, 3], keys: [1, 5, 3], values: [1, 5, 2] }, 4);
    const rowMask = tensor([
      [1, 1, 1, 1, 1],
      [0, 0, 0, 0, 0],
      [1, 0, 1, 0, 1],
      [1, 1, 0, 0, 0],
    ]); // [Lq, Lk], row 1 keeps nothing
    expectFusedEqualsPlain(base, { attentionMask: rowMask }, true);
    const fused = run(base, { attentionMask: rowMask, implementation: 'fused' });
    expect(Array.from(fused.context.data.subarray(2, 4))).toEqual([0, 0]);
    expect(Array.from(fused.weights!.data.subarray(5, 10))).toEqual([0, 0, 0, 0, 0]);
    for (const g of [fused.dq, fused.dk, fused.dv]) expect(g.data.every(Number.isFinite)).toBe(true);
  });

  it('matches the PyTorch sdpa fixtures on the fused path', () => {
    const cases: [string, (f: ReturnType<typeof loadFixture>) => Partial<AttendOptions>][] = [
      ['sdpa_no_mask', () => ({})],
      ['sdpa_custom_scale', () => ({})],
      ['sdpa_causal', () => ({ causal: true })],
      ['sdpa_key_padding_mask', (f) => ({ keyPaddingMask: torchMaskToKeep(f.inputs.key_padding_mask!) })],
      ['sdpa_large_logits_scaled', () => ({})],
      ['sdpa_large_logits_offset', () => ({})],
    ];
    for (const [name, extra] of cases) {
      const f = loadFixture(name);
      const tol = name.startsWith('sdpa_large_logits') ? { rtol: 1e-3, atol: 1e-3 } : FORWARD;
      const query = toHeed(f.inputs.query!, true);
      const keys = toHeed(f.inputs.key!, true);
      const values = toHeed(f.inputs.value!, true);
      const scorer = new ScaledDotScorer({ scale: f.config.scale as number });
      const { context, weights } = attend({ query, keys, values, scorer, implementation: 'fused', ...extra(f) });
      assertClose(`${name} output`, context, f.outputs.output!, tol);
      assertClose(`${name} weights`, weights!, f.outputs.attn_weights!, tol);
      if (f.grads) {
        sum(mul(context, toHeed(f.grad_outputs!.output!))).backward();
        assertClose(`${name} grad query`, query.grad!, f.grads.inputs!.query!);
        assertClose(`${name} grad key`, keys.grad!, f.grads.inputs!.key!);
        assertClose(`${name} grad value`, values.grad!, f.grads.inputs!.value!);
      }
    }
  });
});

describe('attend: choosing the path', () => {
  let spy: ReturnType<typeof spyOnFused> | null = null;
  afterEach(() => {
    spy?.restore();
    spy = null;
  });
  const base = inputs({ query: [2, 4, 8], keys: [2, 6, 8], values: [2, 6, 3] }, 9);

  it('needWeights: false gives null weights, on every path', () => {
    for (const implementation of ['auto', 'plain', 'fused'] as const) {
      expect(attend({ ...base, implementation, needWeights: false }).weights).toBeNull();
    }
    expect(attend({ ...base, normalizer: { kind: 'sparsemax' }, needWeights: false }).weights).toBeNull();
    expect(attend(base).weights).not.toBeNull();
  });

  it("'auto' fuses only when the weights are not needed and the configuration allows it", () => {
    spy = spyOnFused();
    const additive = new AdditiveScorer({ queryDim: 8, keyDim: 8, rng: new Rng(1) });
    const fusedCalls = (options: Omit<AttendOptions, 'query' | 'keys' | 'values'>) => {
      const before = spy!.problems.length;
      attend({ ...base, ...options });
      return spy!.problems.length - before;
    };
    expect(fusedCalls({ needWeights: false })).toBe(1);
    expect(fusedCalls({ needWeights: false, scorer: { kind: 'dot' }, causal: true, normalizer: { kind: 'softmax', temperature: 2 } })).toBe(
      1,
    );
    expect(fusedCalls({ needWeights: false, dropout: 0.1, training: false })).toBe(1);
    expect(fusedCalls({})).toBe(0); // weights wanted: plain
    expect(fusedCalls({ needWeights: false, scorer: additive })).toBe(0);
    expect(fusedCalls({ needWeights: false, scorer: { kind: 'cosine' } })).toBe(0);
    expect(fusedCalls({ needWeights: false, normalizer: { kind: 'entmax15' } })).toBe(0);
    expect(fusedCalls({ needWeights: false, additiveMask: tensor([[0, 0, 0, 0, 0, -Infinity]]) })).toBe(0);
    expect(fusedCalls({ needWeights: false, dropout: 0.1 })).toBe(0);
    expect(fusedCalls({ needWeights: false, implementation: 'plain' })).toBe(0);
  });

  it('causal reaches the kernel as an offset, never as an [Lq, Lk] mask; scale folds in the temperature', () => {
    spy = spyOnFused();
    attend({
      ...base,
      causal: true,
      needWeights: false,
      scorer: new ScaledDotScorer({ scale: 0.5 }),
      normalizer: new Softmax({ temperature: 4 }),
    });
    expect(spy.problems).toHaveLength(1);
    const problem = spy.problems[0]!;
    expect(problem.causalOffset).toBe(0);
    expect(problem.attentionMask).toBeNull();
    expect(problem.scale).toBe(0.125);
    attend({
      ...base,
      keyPaddingMask: tensor([
        [1, 1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1, 1],
      ]),
      needWeights: false,
    });
    expect(spy.problems[1]!.attentionMask!.length).toBe(2 * 6); // [B, 1, Lk], read through strides
    expect(spy.problems[1]!.attentionMaskStrides).toEqual([6, 0, 1]);
  });

  it("'fused' refuses what cannot fuse with a ConfigError saying why", () => {
    const additive = new AdditiveScorer({ queryDim: 8, keyDim: 8, rng: new Rng(1) });
    const reasons: [Omit<AttendOptions, 'query' | 'keys' | 'values'>, RegExp][] = [
      [{ scorer: additive }, /scorer 'additive' does not declare a fused score/],
      [{ normalizer: { kind: 'sparsemax' } }, /normalizer 'sparsemax' does not declare a fused normalizer/],
      [{ additiveMask: tensor([[0, 0, 0, 0, 0, -Infinity]]) }, /additiveMask/],
      [{ dropout: 0.2 }, /dropout 0.2 is active while training/],
    ];
    for (const [options, reason] of reasons) {
      const call = () => attend({ ...base, ...options, implementation: 'fused' });
      expect(call).toThrow(ConfigError);
      expect(call).toThrow(reason);
      expect(call).toThrow(/^attend: implementation 'fused' cannot run this configuration/);
    }
    expect(() => attend({ ...base, implementation: 'fast' as never })).toThrow(ArgumentError);
  });

  it('the planner refuses dq ≠ dk for a dot-like scorer on both paths, naming attend', () => {
    const call = (implementation: 'plain' | 'fused') => () =>
      attend({
        query: randn([2, 4, 8], new Rng(1)),
        keys: randn([2, 6, 7], new Rng(1)),
        values: randn([2, 6, 3], new Rng(1)),
        implementation,
        needWeights: false,
      });
    expect(call('plain')).toThrow(/^attend: the 'scaled-dot' scorer .*dq must equal dk/);
    expect(call('fused')).toThrow(/^attend: the 'scaled-dot' scorer .*dq must equal dk/);
  });
});

describe('attend: grouped-query heads (groupSize) and the sequence-first layout', () => {
  let spy: ReturnType<typeof spyOnFused> | null = null;
  afterEach(() => {
    spy?.restore();
    spy = null;
  });
  const rng = new Rng(31);
  const keyPaddingMask = new Tensor(
    Float32Array.from({ length: 2 * 21 }, (_, i) => (i % 21 < 15 || rng.uniform() < 0.5 ? 1 : 0)),
    [2, 21],
  ); // [B, Lk]
  const headMask = new Tensor(
    Float32Array.from({ length: 4 * 9 * 21 }, (_, i) => (i % 21 === 0 || rng.uniform() < 0.7 ? 1 : 0)),
    [4, 9, 21],
  ); // [H, Lq, Lk]
  const swap = [0, 2, 1, 3]; // [B, L, H, ·] <-> [B, H, L, ·]

  it('fused == plain with groupSize 2 and 4: causal, masks, keyPaddingMask, weights', () => {
    for (const groupSize of [2, 4]) {
      const base = inputs({ query: [2, 4, 9, 8], keys: [2, 4 / groupSize, 21, 8], values: [2, 4 / groupSize, 21, 5] }, groupSize);
      expectFusedEqualsPlain(base, { groupSize });
      expectFusedEqualsPlain(base, { groupSize, causal: true, keyPaddingMask });
      expectFusedEqualsPlain(base, { groupSize, attentionMask: headMask }, true);
    }
  });

  it('the plain path with groupSize equals repeating the key/value heads by hand (gradients summed back)', () => {
    const base = inputs({ query: [2, 4, 9, 8], keys: [2, 2, 21, 8], values: [2, 2, 21, 5] }, 7);
    const grouped = run(base, { groupSize: 2, implementation: 'plain', causal: true });
    const [query, keys, values] = [base.query, base.keys, base.values].map((t) => new Tensor(t.data.slice(), t.shape, true)) as [
      Tensor,
      Tensor,
      Tensor,
    ];
    const repeat = (t: Tensor) =>
      reshape(broadcastTo(reshape(t, [2, 2, 1, 21, t.shape[3]!]), [2, 2, 2, 21, t.shape[3]!]), [2, 4, 21, t.shape[3]!]); // [B, Hkv, Lk, ·] -> [B, H, Lk, ·]
    const { context, weights } = attend({ query, keys: repeat(keys), values: repeat(values), causal: true });
    const r = new Rng(77);
    sum(mul(context, randn(context.shape, r)))
      .add(sum(mul(weights, randn(weights.shape, r))))
      .backward();
    assertClose('context', grouped.context, context, FORWARD);
    assertClose('grad keys', grouped.dk, keys.grad!, GRADIENT);
    assertClose('grad values', grouped.dv, values.grad!, GRADIENT);
  });

  it("layout 'sequence-first' equals permuting the heads first and the context back, on both paths, with groups", () => {
    for (const groupSize of [1, 2]) {
      const base = inputs({ query: [2, 9, 4, 8], keys: [2, 21, 4 / groupSize, 8], values: [2, 21, 4 / groupSize, 5] }, 40 + groupSize); // [B, L, H, ·]
      for (const implementation of ['plain', 'fused'] as const) {
        for (const extra of [{}, { causal: true, attentionMask: headMask }, { keyPaddingMask }] as Partial<AttendOptions>[]) {
          const got = run(base, { ...extra, groupSize, layout: 'sequence-first', implementation, needWeights: implementation === 'plain' });
          const [query, keys, values] = [base.query, base.keys, base.values].map((t) => new Tensor(t.data.slice(), t.shape, true)) as [
            Tensor,
            Tensor,
            Tensor,
          ];
          const expected = attend({
            ...extra,
            query: permute(query, swap),
            keys: permute(keys, swap),
            values: permute(values, swap),
            groupSize,
            implementation: 'plain',
          });
          const r = new Rng(77);
          const context = permute(expected.context, swap); // [B, H, Lq, dv] -> [B, Lq, H, dv]
          let loss = sum(mul(context, randn(context.shape, r)));
          if (implementation === 'plain') loss = loss.add(sum(mul(expected.weights!, randn(expected.weights!.shape, r))));
          loss.backward();
          const label = `g=${groupSize} ${implementation} ${Object.keys(extra).join(',')}`;
          assertClose(`${label} context`, got.context, context, FORWARD);
          if (implementation === 'plain') assertClose(`${label} weights`, got.weights!, expected.weights!, FORWARD);
          assertClose(`${label} grad query`, got.dq, query.grad!, GRADIENT);
          assertClose(`${label} grad keys`, got.dk, keys.grad!, GRADIENT);
          assertClose(`${label} grad values`, got.dv, values.grad!, GRADIENT);
        }
      }
    }
  });

  it('the fused path reads shared heads and the layout in place: groupSize and layout reach the kernel', () => {
    spy = spyOnFused();
    const base = inputs({ query: [2, 9, 4, 8], keys: [2, 21, 2, 8], values: [2, 21, 2, 5] }, 8);
    const { context } = attend({ ...base, groupSize: 2, layout: 'sequence-first', needWeights: false });
    expect(context.shape).toEqual([2, 9, 4, 5]);
    expect(spy.problems).toHaveLength(1);
    expect(spy.problems[0]).toMatchObject({ n: 8, groupSize: 2, layout: 'sequence-first', heads: 4, queryLength: 9, keyLength: 21 });
  });

  it('refuses groups that do not divide the heads, missing head axes and unknown layouts', () => {
    const base = inputs({ query: [2, 4, 9, 8], keys: [2, 2, 21, 8], values: [2, 2, 21, 5] }, 9);
    for (const implementation of ['plain', 'fused'] as const) {
      let e = expectThrows(() => attend({ ...base, groupSize: 3, implementation, needWeights: false }), ShapeError);
      expect([e.op, e.argument]).toEqual(['attend', 'groupSize']);
      e = expectThrows(() => attend({ ...base, groupSize: 4, implementation, needWeights: false }), ShapeError);
      expect([e.op, e.argument, e.message]).toEqual([
        'attend',
        'keys',
        expect.stringMatching(
          /keys \[2, 2, 21, 8\] must have the leading dims of query \[2, 4, 9, 8\] .*H \/ groupSize = 1 key\/value heads/,
        ),
      ]);
      e = expectThrows(
        () =>
          attend({
            query: randn([9, 8], rng),
            keys: randn([21, 8], rng),
            values: randn([21, 5], rng),
            layout: 'sequence-first',
            implementation,
          }),
        ShapeError,
      );
      expect([e.op, e.argument]).toEqual(['attend', 'query']);
    }
    expect(expectThrows(() => attend({ ...base, groupSize: 1.5 }), ArgumentError).argument).toBe('groupSize');
    expect(expectThrows(() => attend({ ...base, layout: 'heads-last' as never }), ArgumentError).argument).toBe('layout');
  });
});
