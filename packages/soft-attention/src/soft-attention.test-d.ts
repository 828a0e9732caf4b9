import { randn, Rng, type Tensor } from '@heed/tensor';
import { describe, expectTypeOf, test } from 'vitest';
import { attend } from './attend';
import { SoftAttention } from './soft-attention';

const rng = new Rng(0);
const query = randn([1, 2, 4], rng); // [B, Lq, d]
const keys = randn([1, 3, 4], rng); // [B, Lk, d]
const values = randn([1, 3, 2], rng); // [B, Lk, dv]

describe('SoftAttention.forward types', () => {
  test('weights are a Tensor by default and with needWeights: true, null with needWeights: false', () => {
    const attention = new SoftAttention({ normalizer: { kind: 'sparsemax' } });
    expectTypeOf(attention.forward(query, keys, values).weights).toEqualTypeOf<Tensor>();
    expectTypeOf(attention.forward(query, keys, values, { causal: true, needWeights: true }).weights).toEqualTypeOf<Tensor>();
    expectTypeOf(attention.forward(query, keys, values, { needWeights: false }).weights).toEqualTypeOf<null>();
    const needWeights: boolean = Math.random() > 0.5;
    expectTypeOf(attention.forward(query, keys, values, { needWeights }).weights).toEqualTypeOf<Tensor | null>();
    expectTypeOf(attention.forward(query, keys, values).context).toEqualTypeOf<Tensor>();
  });
});

describe('attend types', () => {
  test('the same overloads as SoftAttention.forward', () => {
    expectTypeOf(attend({ query, keys, values }).weights).toEqualTypeOf<Tensor>();
    expectTypeOf(attend({ query, keys, values, needWeights: false }).weights).toEqualTypeOf<null>();
    const needWeights: boolean = Math.random() > 0.5;
    expectTypeOf(attend({ query, keys, values, needWeights }).weights).toEqualTypeOf<Tensor | null>();
  });
});
