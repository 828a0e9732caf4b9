import { ArgumentError, ConfigError, matmul, Module, mul, randn, Rng, ShapeError, Tensor, tensor } from '@heed/tensor';
import { spyOnFused } from '@heed/tensor/testing';
import { CosineScorer, DotScorer, GeneralScorer, ScaledDotScorer, type FusedScore, type Scorer } from '@heed/scorers';
import { afterEach, describe, expect, it } from 'vitest';
import { assertClose } from '../../../fixtures/load-fixture';
import { attend } from './attend';
import { causalMask } from './masks';
import { keepMaskOf, planAttention, type AttentionCall } from './plan-attention';
import { SoftAttention } from './soft-attention';
import { Softmax } from './softmax';
import { Sparsemax } from './sparsemax-normalizer';

// Shape letters: B batch, H heads, Lq queries, Lk keys, d features, dv value features.

/** A scorer heed does not ship: q·k / d (a "length-normalized" dot), declaring that the fused kernel can compute it. */
class DotOverDimScorer extends Module implements Scorer {
  readonly kind = 'dot-over-dim';

  /** [..., Lq, d] x [..., Lk, d] -> [..., Lq, Lk] */
  score(query: Tensor, keys: Tensor): Tensor {
    const d = keys.shape[keys.rank - 1]!;
    return mul(matmul(query, keys, { transposeB: true }), 1 / d); // [..., Lq, Lk]
  }

  fusedScore(keyDim: number): FusedScore {
    return { kind: 'dot', scale: 1 / keyDim };
  }
}

function inputs(seed: number, shapes = { query: [2, 5, 4], keys: [2, 7, 4], values: [2, 7, 3] }) {
  const rng = new Rng(seed);
  return { query: randn(shapes.query, rng), keys: randn(shapes.keys, rng), values: randn(shapes.values, rng) };
}

function planOf(call: Partial<AttentionCall>, options: Parameters<typeof planAttention>[1] = {}) {
  const base = inputs(1);
  return planAttention({ op: 'attend', ...base, scorer: new ScaledDotScorer(), normalizer: new Softmax(), ...call }, options);
}

/** Naive softmax attention of one batch row with a keep rule, in float64: context [Lq, dv]. */
function naiveAttention(q: number[][], k: number[][], v: number[][], scale: number, keep: (i: number, j: number) => boolean): number[][] {
  return q.map((qi, i) => {
    const s = k.map((kj, j) => (keep(i, j) ? scale * qi.reduce((acc, x, c) => acc + x * kj[c]!, 0) : -Infinity));
    const m = Math.max(...s);
    const p = s.map((x) => (m === -Infinity ? 0 : Math.exp(x - m)));
    const total = p.reduce((a, b) => a + b, 0);
    return v[0]!.map((_, c) => (total === 0 ? 0 : p.reduce((acc, w, j) => acc + (w / total) * v[j]![c]!, 0)));
  });
}

describe('planAttention: one checked plan', () => {
  let spy: ReturnType<typeof spyOnFused> | null = null;
  afterEach(() => {
    spy?.restore();
    spy = null;
  });

  it('says which path runs and why not fused', () => {
    expect([planOf({}).path, planOf({}).reason]).toEqual(['plain', 'the weights are asked for (needWeights)']);
    expect([planOf({}, { needWeights: false }).path, planOf({}, { needWeights: false }).reason]).toEqual(['fused', null]);
    expect(planOf({}, { needWeights: false }).scale).toBeCloseTo(1 / 2, 7); // 1/√4
    expect(planOf({ normalizer: new Sparsemax() }, { needWeights: false }).reason).toMatch(
      /normalizer 'sparsemax' does not declare a fused normalizer/,
    );
    expect(planOf({}, { needWeights: false, implementation: 'plain' }).reason).toBe("implementation 'plain' was asked for");
    expect(planOf({ dropout: 0.3, training: false }, { needWeights: false }).path).toBe('fused');
    expect(planOf({ dropout: 0.3 }, { needWeights: false }).reason).toBe('dropout 0.3 is active while training');
  });

  it('keeps causal as an index rule with its offset; the plain path materializes it', () => {
    const plan = planOf({}, { causal: { offset: 2 } });
    expect(plan.keep.mask).toBeNull();
    expect(plan.keep.rules.map((rule) => [rule.kind, (rule as { offset?: number }).offset])).toEqual([['causal', 2]]);
    expect(Array.from(keepMaskOf(plan)!.data)).toEqual(Array.from(causalMask(5, 7, { offset: 2 }).data));
    const padded = planOf(
      {},
      {
        keyPaddingMask: tensor([
          [1, 1, 0, 1, 1, 1, 1],
          [1, 1, 1, 1, 1, 0, 0],
        ]),
        attentionMask: tensor([[1, 1, 1, 1, 1, 1, 0]]),
      },
    );
    expect([padded.keep.mask!.shape, padded.keep.maskStrides]).toEqual([
      [2, 1, 7],
      [7, 0, 1],
    ]); // [B, 1, Lk] read over [B, Lq, Lk]
    expect(planOf({}, { causal: true }).keep.rules.map((rule) => (rule as { offset?: number }).offset)).toEqual([0]);
  });

  it('refuses bad causal, implementation and dropout values, naming the call', () => {
    for (const causal of [{ offset: 0.5 }, 'yes', { offset: NaN }]) {
      const e = expectHeedError(() => planOf({}, { causal: causal as never }), ArgumentError);
      expect([e.op, e.argument]).toEqual(['attend', 'causal']);
    }
    for (const dropout of [-0.5, NaN, 'x', 1.5, 1]) {
      const e = expectHeedError(() => attend({ ...inputs(2), dropout: dropout as never }), ArgumentError);
      expect([e.op, e.argument]).toEqual(['attend', 'dropout']);
    }
    for (const dropout of [-0.5, NaN, 'x', 1.5]) {
      const e = expectHeedError(() => new SoftAttention({ dropout: dropout as never }), ConfigError);
      expect([e.op, e.argument]).toEqual(['SoftAttention', 'dropout']);
    }
    const e = expectHeedError(
      () => new SoftAttention().forward(inputs(2).query, inputs(2).keys, inputs(2).values, { implementation: 'fast' as never }),
      ArgumentError,
    );
    expect([e.op, e.argument]).toEqual(['SoftAttention.forward', 'implementation']);
  });

  it("a scorer's own refusal (a head size it was not built for) names the public call too", () => {
    const { query, keys, values } = inputs(3);
    const general = new GeneralScorer({ queryDim: 3, keyDim: 4, rng: new Rng(1) });
    const e = expectHeedError(() => new SoftAttention({ scorer: general }).forward(query, keys, values), ShapeError);
    expect([e.op, e.argument, e.message]).toEqual([
      'SoftAttention.forward',
      'query',
      expect.stringMatching(/^SoftAttention\.forward: general\.score: was built for queryDim 3, got query \[2, 5, 4\]/),
    ]);
  });

  it('refuses the old option names instead of silently dropping the mask', () => {
    const { query, keys, values } = inputs(3);
    const e = expectHeedError(() => attend({ query, keys, values, mask: tensor([[1, 0, 1, 1, 1, 1, 1]]) } as never), ArgumentError);
    expect([e.op, e.argument, e.message]).toEqual([
      'attend',
      'mask',
      'attend: the option mask is now called attentionMask (one name in every attention call)',
    ]);
    expect(expectHeedError(() => attend(undefined as never), ArgumentError).argument).toBe('options');
    expect(expectHeedError(() => attend({ query: [[1, 2]], keys, values } as never), ArgumentError).message).toBe(
      'attend: query must be a Tensor, got an array',
    );
    expect(
      expectHeedError(
        () => new SoftAttention().forward(query, keys, values, { additiveAttentionMask: tensor([[0]]) } as never),
        ArgumentError,
      ).argument,
    ).toBe('additiveAttentionMask');
  });

  it('names the public call and its argument in shape errors', () => {
    const { query, keys, values } = inputs(3);
    const e = expectHeedError(() => new SoftAttention().forward(query, keys, values, { attentionMask: tensor([[1, 0]]) }), ShapeError);
    expect([e.op, e.argument, e.message]).toEqual([
      'SoftAttention.forward',
      'attentionMask',
      'SoftAttention.forward: attentionMask [1, 2] does not broadcast to the scores [2, 5, 7]',
    ]);
  });
});

describe('fusion by capability', () => {
  let spy: ReturnType<typeof spyOnFused> | null = null;
  afterEach(() => {
    spy?.restore();
    spy = null;
  });

  it('a scorer defined outside heed opts in with fusedScore and takes the fused path, with the plain numbers', () => {
    const scorer = new DotOverDimScorer();
    const base = inputs(4);
    const options = {
      ...base,
      scorer,
      causal: true,
      keyPaddingMask: tensor([
        [1, 1, 1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1, 1, 1],
      ]),
    };
    expect(planAttention({ op: 'attend', ...base, scorer, normalizer: new Softmax() }, { needWeights: false }).path).toBe('fused');
    spy = spyOnFused();
    const fused = attend({ ...options, needWeights: false });
    expect(spy.problems).toHaveLength(1);
    expect(spy.problems[0]!.scale).toBeCloseTo(1 / 4, 7);
    const plain = attend({ ...options, implementation: 'plain' });
    expect(spy.problems).toHaveLength(1); // the plain path did not call the kernel
    assertClose('context', fused.context, plain.context, { rtol: 1e-5, atol: 1e-6 });
    // Both against a float64 reference: softmax(q·k / d | causal, padding) v.
    const rows = (t: Tensor, b: number) => (t.toArray() as number[][][])[b]!;
    for (const b of [0, 1]) {
      const reference = naiveAttention(
        rows(base.query, b),
        rows(base.keys, b),
        rows(base.values, b),
        1 / 4,
        (i, j) => j <= i && (b === 1 || j < 5),
      );
      assertClose(
        `context row ${b}`,
        { shape: [5, 3], data: rows(fused.context, b).flat() },
        { shape: [5, 3], data: reference.flat() },
        { rtol: 1e-5, atol: 1e-6 },
      );
    }
  });

  it('instanceof decides nothing: a DotScorer subclass that changes score stays plain; a second copy (brand only) still fuses', () => {
    class ShiftedDot extends DotScorer {
      override score(query: Tensor, keys: Tensor): Tensor {
        return mul(super.score(query, keys), 2);
      }
    }
    expect(planOf({ scorer: new ShiftedDot() }, { needWeights: false }).path).toBe('plain');
    // A scorer and a normalizer from "another installed copy" of heed: the brands, no shared prototype.
    const dot = new DotScorer();
    const foreignScorer = {
      [Symbol.for('heed.scorer')]: true,
      kind: 'dot',
      score: (q: Tensor, k: Tensor) => dot.score(q, k),
      fusedScore: () => ({ kind: 'dot', scale: 1 }),
    };
    const foreignSoftmax = {
      [Symbol.for('heed.normalizer')]: true,
      kind: 'softmax',
      normalize: (s: Tensor, keep?: Tensor | null) => new Softmax().normalize(s, keep),
      fusedNormalizer: () => ({ kind: 'softmax', temperature: 2 }),
    };
    spy = spyOnFused();
    const base = inputs(5);
    const fused = attend({ ...base, scorer: foreignScorer as never, normalizer: foreignSoftmax as never, needWeights: false });
    expect(spy.problems.map((p) => p.scale)).toEqual([0.5]);
    const plain = attend({ ...base, scorer: new DotScorer(), normalizer: new Softmax({ temperature: 2 }), implementation: 'plain' });
    assertClose('context', fused.context, plain.context, { rtol: 1e-5, atol: 1e-6 });
  });

  it("kind names are shorthands: scorer 'dot', normalizer 'sparsemax'", () => {
    const base = inputs(6);
    const short = attend({ ...base, scorer: 'dot', normalizer: 'sparsemax' });
    const spec = attend({ ...base, scorer: { kind: 'dot' }, normalizer: { kind: 'sparsemax' } });
    expect(Array.from(short.context.data)).toEqual(Array.from(spec.context.data));
    expect(new SoftAttention({ scorer: 'scaled-dot', normalizer: 'entmax15' }).normalizer.kind).toBe('entmax15');
    const e = expectHeedError(() => attend({ ...base, normalizer: 'nope' }), ConfigError);
    expect([e.op, e.argument, e.message]).toEqual([
      'attend',
      'normalizer',
      expect.stringMatching(/unknown normalizer kind 'nope'; known kinds: softmax, sparsemax, entmax15/),
    ]);
    expect(expectHeedError(() => attend({ ...base, scorer: 'nope' }), ConfigError).message).toMatch(
      /^attend: scorer: unknown scorer kind 'nope'/,
    );
    expect(expectHeedError(() => attend({ ...base, scorer: 42 as never }), ArgumentError).argument).toBe('scorer');
  });
});

describe('the edges: padding, NaN, head size 0, unbatched', () => {
  const padding = tensor([
    [1, 1, 1, 1, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
  ]); // batch 1 is fully padded

  it('never reads padded keys and values: NaN there does not reach the context or the gradients, on either path', () => {
    const base = inputs(7);
    const dirty = (t: Tensor) => {
      const data = t.data.slice();
      const d = t.shape[2]!;
      for (const [b, j] of [
        [0, 4],
        [0, 6],
        [1, 2],
      ])
        data.fill(NaN, (b! * 7 + j!) * d, (b! * 7 + j! + 1) * d);
      return new Tensor(data, t.shape, true);
    };
    for (const implementation of ['plain', 'fused'] as const) {
      const [keys, values] = [dirty(base.keys), dirty(base.values)];
      const query = new Tensor(base.query.data.slice(), base.query.shape, true);
      const { context } = attend({ query, keys, values, keyPaddingMask: padding, implementation, needWeights: false });
      const clean = attend({ ...base, keyPaddingMask: padding, implementation: 'plain' }).context;
      expect(Array.from(context.data.subarray(15))).toEqual(new Array(15).fill(0)); // fully padded batch row: zeros
      assertClose(`context (${implementation})`, context, clean, { rtol: 1e-5, atol: 1e-6 });
      context.sum().backward();
      for (const t of [query, keys, values]) expect(Array.from(t.grad!.data).every(Number.isFinite)).toBe(true);
      expect(Array.from(values.grad!.data.subarray(4 * 3, 7 * 3))).toEqual(new Array(9).fill(0)); // padded values get no gradient
    }
  });

  it('one NaN rule on every path: NaN or ±∞ in what attention reads is refused, naming the argument', () => {
    const base = inputs(8);
    const poisoned = (t: Tensor, at: number, value: number) => {
      const data = t.data.slice();
      data[at] = value;
      return new Tensor(data, t.shape);
    };
    for (const implementation of ['plain', 'fused'] as const) {
      const options = { implementation, needWeights: false } as const;
      expect(expectHeedError(() => attend({ ...base, ...options, query: poisoned(base.query, 3, NaN) }), ArgumentError).argument).toBe(
        'query',
      );
      expect(expectHeedError(() => attend({ ...base, ...options, keys: poisoned(base.keys, 0, Infinity) }), ArgumentError).argument).toBe(
        'keys',
      );
      const e = expectHeedError(() => attend({ ...base, ...options, values: poisoned(base.values, 5, -Infinity) }), ArgumentError);
      expect([e.op, e.argument, e.message]).toEqual([
        'attend',
        'values',
        expect.stringMatching(/values \[2, 7, 3\] holds -Infinity at flat index 5: attention refuses NaN and ±∞ inputs/),
      ]);
    }
    const additive = (value: number) => tensor([[0, 0, value, 0, 0, 0, 0]]);
    expect(expectHeedError(() => attend({ ...base, additiveMask: additive(NaN) }), ArgumentError).argument).toBe('additiveMask');
    expect(expectHeedError(() => attend({ ...base, additiveMask: additive(Infinity) }), ArgumentError).argument).toBe('additiveMask');
    expect(attend({ ...base, additiveMask: additive(-Infinity) }).weights.data[2]).toBe(0); // −∞ drops the key
  });

  it('head size 0 is one named error on both paths, for every scorer', () => {
    const zero = inputs(9, { query: [2, 5, 0], keys: [2, 7, 0], values: [2, 7, 3] });
    for (const implementation of ['plain', 'fused', 'auto'] as const) {
      for (const scorer of [new ScaledDotScorer(), new DotScorer(), new CosineScorer()]) {
        const e = expectHeedError(() => attend({ ...zero, scorer, implementation }), ShapeError);
        expect([e.op, e.argument, e.message]).toEqual([
          'attend',
          'query',
          'attend: query [2, 5, 0] and keys [2, 7, 0] need at least one feature (head size d ≥ 1)',
        ]);
      }
    }
  });

  it('keyPaddingMask works on an unbatched call (query [Lq, d]): [1, Lk] or [Lk]', () => {
    const rng = new Rng(10);
    const [query, keys, values] = [randn([3, 4], rng), randn([5, 4], rng), randn([5, 2], rng)];
    const keep = [1, 1, 0, 1, 0];
    const expected = attend({ query, keys, values, attentionMask: tensor([keep]) });
    for (const keyPaddingMask of [tensor([keep]), tensor(keep)]) {
      for (const implementation of ['plain', 'fused'] as const) {
        const { context } = attend({ query, keys, values, keyPaddingMask, implementation, needWeights: implementation === 'plain' });
        assertClose(`context (${implementation})`, context, expected.context, { rtol: 1e-5, atol: 1e-6 });
      }
    }
    const e = expectHeedError(() => attend({ query, keys, values, keyPaddingMask: tensor([[1, 1, 1]]) }), ShapeError);
    expect([e.op, e.argument, e.message]).toEqual([
      'attend',
      'keyPaddingMask',
      'attend: keyPaddingMask [1, 3] must be [1, Lk] = [1, 5] or [Lk] = [5] (the call is unbatched), one entry per key',
    ]);
  });
});

function expectHeedError<E extends Error>(
  fn: () => unknown,
  errorClass: abstract new (...args: never[]) => E,
): E & { op: string; argument: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(errorClass);
    return error as E & { op: string; argument: string };
  }
  throw new Error('expected an error');
}
