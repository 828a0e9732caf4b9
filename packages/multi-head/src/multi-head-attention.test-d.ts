import { type AdditiveScorer, DotScorer, type Scorer } from '@heed/scorers';
import { randn, Rng, type Linear, type Tensor } from '@heed/tensor';
import { describe, expectTypeOf, test } from 'vitest';
import { MultiHeadAttention } from './multi-head-attention';

const x = randn([1, 3, 4], new Rng(0)); // [B, L, E]

describe('MultiHeadAttention.forward types', () => {
  test('weights are a Tensor by default and with needWeights: true', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });
    expectTypeOf(layer.forward(x, x, x).weights).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.forward(x, x, x, { causal: true }).weights).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.forward(x, x, x, { needWeights: true, averageHeadWeights: false }).weights).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.forward(x, x, x).output).toEqualTypeOf<Tensor>();
  });

  test('weights are null with needWeights: false', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });
    expectTypeOf(layer.forward(x, x, x, { needWeights: false }).weights).toEqualTypeOf<null>();
  });

  test('a needWeights known only at run time gives Tensor | null', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });
    const needWeights: boolean = Math.random() > 0.5;
    expectTypeOf(layer.forward(x, x, x, { needWeights }).weights).toEqualTypeOf<Tensor | null>();
  });
});

describe('MultiHeadAttention scorer types', () => {
  test('a parametric spec types every head scorer with its class', () => {
    const layer = new MultiHeadAttention({ embedDim: 4, numHeads: 2, scorer: { kind: 'additive', hiddenDim: 3 } });
    expectTypeOf(layer.scorers[0]!).toEqualTypeOf<AdditiveScorer>();
    expectTypeOf(layer.scorers[0]!.W1).toEqualTypeOf<Linear>();
  });

  test('a Scorer instance is typed as itself; no scorer gives Scorer', () => {
    expectTypeOf(new MultiHeadAttention({ embedDim: 4, numHeads: 2, scorer: new DotScorer() }).scorers[0]!).toEqualTypeOf<DotScorer>();
    expectTypeOf(new MultiHeadAttention({ embedDim: 4, numHeads: 2 }).scorers[0]!).toEqualTypeOf<Scorer>();
  });

  test('a typed layer is still a MultiHeadAttention', () => {
    const additive = new MultiHeadAttention({ embedDim: 4, numHeads: 2, scorer: { kind: 'additive' } });
    expectTypeOf(additive).toExtend<MultiHeadAttention>();
    // @ts-expect-error a dot-product head has no W1
    new MultiHeadAttention({ embedDim: 4, numHeads: 2, scorer: { kind: 'dot' } }).scorers[0]!.W1;
  });
});
