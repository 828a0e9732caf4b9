import { randn, Rng, type Tensor } from '@heed/tensor';
import { describe, expectTypeOf, test } from 'vitest';
import { LlamaAttention } from './llama-attention';

describe('LlamaAttention.forward types', () => {
  test('weights are a Tensor by default and with needWeights: true, null with needWeights: false', () => {
    const layer = new LlamaAttention({ embedDim: 8, numHeads: 2 });
    const h = randn([1, 3, 8], new Rng(1)); // [B, L, E]
    expectTypeOf(layer.forward(h).weights).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.forward(h, { needWeights: true }).weights).toEqualTypeOf<Tensor>();
    expectTypeOf(layer.forward(h, { needWeights: false }).weights).toEqualTypeOf<null>();
    const needWeights: boolean = Math.random() > 0.5;
    expectTypeOf(layer.forward(h, { needWeights }).weights).toEqualTypeOf<Tensor | null>();
  });
});
