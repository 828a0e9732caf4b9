import type { GeneralScorer, Scorer } from '@heed/scorers';
import { randn, Rng, type Linear, type Tensor } from '@heed/tensor';
import { describe, expectTypeOf, test } from 'vitest';
import { SelfAttention } from './self-attention';

const x = randn([1, 3, 4], new Rng(0)); // [B, L, inputDim]
const dims = { inputDim: 4, keyDim: 2, valueDim: 2 };

describe('SelfAttention.forward types', () => {
  test('weights are a Tensor by default and with needWeights: true, null with needWeights: false', () => {
    const attention = new SelfAttention(dims);
    expectTypeOf(attention.forward(x).weights).toEqualTypeOf<Tensor>();
    expectTypeOf(attention.forward(x, { causal: true, needWeights: true }).weights).toEqualTypeOf<Tensor>();
    expectTypeOf(attention.forward(x, { needWeights: false }).weights).toEqualTypeOf<null>();
    const needWeights: boolean = Math.random() > 0.5;
    expectTypeOf(attention.forward(x, { needWeights }).weights).toEqualTypeOf<Tensor | null>();
  });
});

describe('SelfAttention scorer types', () => {
  test('the scorer is typed by its spec, an instance as itself, none as Scorer', () => {
    const general = new SelfAttention({ ...dims, scorer: { kind: 'general' } });
    expectTypeOf(general.scorer).toEqualTypeOf<GeneralScorer>();
    expectTypeOf(general.scorer.W).toEqualTypeOf<Linear>();
    expectTypeOf(new SelfAttention(dims).scorer).toEqualTypeOf<Scorer>();
    expectTypeOf(general).toExtend<SelfAttention>();
  });
});
