import { describe, expectTypeOf, test } from 'vitest';
import { tensor } from './creation';
import type { NestedArray } from './tensor';

describe('Tensor.toArray types', () => {
  test('without a rank: the untyped nesting', () => {
    expectTypeOf(tensor([1, 2]).toArray()).toEqualTypeOf<NestedArray>();
  });

  test('with a rank: number, number[], number[][] ... by rank', () => {
    const t = tensor([[[1]]]);
    expectTypeOf(t.toArray(0)).toEqualTypeOf<number>();
    expectTypeOf(t.toArray(1)).toEqualTypeOf<number[]>();
    expectTypeOf(t.toArray(2)).toEqualTypeOf<number[][]>();
    expectTypeOf(t.toArray(3)).toEqualTypeOf<number[][][]>();
    expectTypeOf(t.toArray(4)).toEqualTypeOf<number[][][][]>();
    expectTypeOf(t.toArray(6)).toEqualTypeOf<number[][][][][][]>();
  });

  test('a rank without a typed form is refused at compile time', () => {
    // @ts-expect-error ranks above 6 have no typed form: use toArray() and narrow
    tensor([1]).toArray(7);
    // @ts-expect-error a rank is a literal number
    tensor([1]).toArray('3');
  });
});
