import { Rng, type Linear, type Parameter } from '@heed/tensor';
import { describe, expectTypeOf, test } from 'vitest';
import type { AdditiveScorer } from './additive';
import type { ConcatScorer } from './concat';
import type { CosineScorer } from './cosine';
import type { DotScorer } from './dot';
import type { GeneralScorer } from './general';
import { createScorer, type ScorerFor, type ScorerSpec } from './registry';
import type { ScaledDotScorer } from './scaled-dot';
import type { Scorer } from './scorer';

describe('createScorer types', () => {
  test('a literal kind gives its class, with its parameters typed', () => {
    const additive = createScorer({ kind: 'additive', queryDim: 3, keyDim: 3, hiddenDim: 8, rng: new Rng(0) });
    expectTypeOf(additive).toEqualTypeOf<AdditiveScorer>();
    expectTypeOf(additive.W1).toEqualTypeOf<Linear>();
    expectTypeOf(additive.b).toEqualTypeOf<Parameter>();
    expectTypeOf(createScorer({ kind: 'dot' })).toEqualTypeOf<DotScorer>();
    expectTypeOf(createScorer({ kind: 'scaled-dot', scale: 0.5 })).toEqualTypeOf<ScaledDotScorer>();
    expectTypeOf(createScorer({ kind: 'general', queryDim: 2, keyDim: 3 })).toEqualTypeOf<GeneralScorer>();
    expectTypeOf(createScorer({ kind: 'concat', queryDim: 2, keyDim: 3 })).toEqualTypeOf<ConcatScorer>();
    expectTypeOf(createScorer({ kind: 'cosine', temperature: 0.5 })).toEqualTypeOf<CosineScorer>();
  });

  test('a kind known only at run time, or a kind of your own, gives a Scorer', () => {
    const kind: string = 'additive';
    expectTypeOf(createScorer({ kind, queryDim: 3 })).toEqualTypeOf<Scorer>();
    expectTypeOf(createScorer({ kind: 'rbf', sigma: 2 })).toEqualTypeOf<Scorer>();
    const spec: ScorerSpec = { kind: 'dot' };
    expectTypeOf(createScorer(spec)).toEqualTypeOf<Scorer>();
  });

  test('a parametric field is not there on a kind without it', () => {
    // @ts-expect-error a dot scorer has no W1
    createScorer({ kind: 'dot' }).W1;
  });
});

describe('ScorerFor', () => {
  test('maps a spec to its class, an instance to itself, and anything unknown to Scorer', () => {
    expectTypeOf<ScorerFor<{ kind: 'additive' }>>().toEqualTypeOf<AdditiveScorer>();
    expectTypeOf<ScorerFor<{ kind: 'dot' } | { kind: 'cosine' }>>().toEqualTypeOf<DotScorer | CosineScorer>();
    expectTypeOf<ScorerFor<GeneralScorer>>().toEqualTypeOf<GeneralScorer>();
    expectTypeOf<ScorerFor<Scorer>>().toEqualTypeOf<Scorer>();
    expectTypeOf<ScorerFor<Scorer | ScorerSpec>>().toEqualTypeOf<Scorer>();
  });
});
