import { describe, expect, test } from 'vitest';
import { randn, rand, tensor } from '../creation';
import { ShapeError } from '../errors/shape-error';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { add, div, maximum, mul, pow, sub } from './binary';

const FORWARD = { atol: 1e-6, rtol: 1e-6 };
const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** Naive NumPy broadcasting by index arithmetic, in float64: returns the output shape and values. */
function naiveBinary(f: (x: number, y: number) => number, a: Tensor, b: Tensor): { shape: number[]; data: number[] } {
  const rank = Math.max(a.rank, b.rank);
  const dimA = (i: number): number => a.shape[i - (rank - a.rank)] ?? 1;
  const dimB = (i: number): number => b.shape[i - (rank - b.rank)] ?? 1;
  const shape = Array.from({ length: rank }, (_, i) => Math.max(dimA(i), dimB(i)));
  const size = shape.reduce((p, d) => p * d, 1);
  const data: number[] = [];
  for (let flat = 0; flat < size; flat++) {
    // output multi-index, row-major
    const index = new Array<number>(rank);
    let rest = flat;
    for (let i = rank - 1; i >= 0; i--) {
      index[i] = rest % shape[i]!;
      rest = Math.floor(rest / shape[i]!);
    }
    let ia = 0;
    let ib = 0;
    for (let i = 0; i < rank; i++) {
      if (i >= rank - a.rank) ia = ia * dimA(i) + (dimA(i) === 1 ? 0 : index[i]!);
      if (i >= rank - b.rank) ib = ib * dimB(i) + (dimB(i) === 1 ? 0 : index[i]!);
    }
    data.push(f(a.data[ia]!, b.data[ib]!));
  }
  return { shape, data };
}

/** Values at least 0.5 away from zero (for divisors). */
function awayFromZero(shape: number[], rng: Rng): Tensor {
  const t = randn(shape, rng);
  for (let i = 0; i < t.size; i++) t.data[i] = Math.sign(t.data[i]! || 1) * (0.5 + Math.abs(t.data[i]!));
  return t;
}

// Shape pairs exercised by every op: same shape, trailing broadcast, both sides broadcast, rank-0.
const SHAPES: [number[], number[]][] = [
  [
    [2, 3],
    [2, 3],
  ],
  [
    [2, 3, 4],
    [3, 1],
  ],
  [
    [3, 1],
    [1, 4],
  ],
  [[4], [2, 3, 1]],
  [[2, 3], []],
];

const OPS = [
  { name: 'add', op: add, ref: (x: number, y: number) => x + y },
  { name: 'sub', op: sub, ref: (x: number, y: number) => x - y },
  { name: 'mul', op: mul, ref: (x: number, y: number) => x * y },
  { name: 'div', op: div, ref: (x: number, y: number) => x / y },
] as const;

describe.each(OPS)('$name', ({ name, op, ref }) => {
  test.each(SHAPES)('forward matches naive broadcasting: %j with %j', (shapeA, shapeB) => {
    const rng = new Rng(1);
    const a = randn(shapeA, rng);
    const b = awayFromZero(shapeB, rng);
    const expected = naiveBinary(ref, a, b);
    const out = op(a, b);
    expect(out.shape).toEqual(expected.shape);
    expectClose(out.data, expected.data, FORWARD, name);
  });

  test.each(SHAPES)('gradients pass gradcheck: %j with %j', (shapeA, shapeB) => {
    const rng = new Rng(2);
    const a = randn(shapeA, rng);
    const b = awayFromZero(shapeB, rng);
    expect(gradcheck((x, y) => op(x, y), [a, b], GRAD)).toMatchObject({ ok: true });
  });

  test('a number operand is a scalar on either side', () => {
    const a = tensor([1.5, -2, 4]); // [3]
    expectClose(
      op(a, 2).data,
      [1.5, -2, 4].map((v) => ref(v, 2)),
      FORWARD,
    );
    expectClose(
      op(2, a).data,
      [1.5, -2, 4].map((v) => ref(2, v)),
      FORWARD,
    );
    expect(gradcheck((x) => op(x, 2), [a], GRAD)).toMatchObject({ ok: true });
    expect(gradcheck((x) => op(3, x), [a], GRAD)).toMatchObject({ ok: true });
  });

  test('shapes that do not broadcast are a ShapeError naming both', () => {
    const error = expectThrows(() => op(randn([2, 3], new Rng(0)), randn([4], new Rng(0))), ShapeError);
    expect(error.op).toBe(name);
    expect(error.shapes).toEqual({ a: [2, 3], b: [4] });
    expect(error.message).toContain('[2, 3]');
    expect(error.message).toContain('[4]');
  });
});

describe('broadcast gradients reduce over the broadcast axes', () => {
  // a [3, 1] + b [1, 4] -> [3, 4]; upstream g [3, 4]
  const g = randn([3, 4], new Rng(11)); // [3, 4]
  const rowSums = [0, 1, 2].map((i) => [0, 1, 2, 3].reduce((s, j) => s + g.data[i * 4 + j]!, 0)); // Σ_j g[i, j]
  const colSums = [0, 1, 2, 3].map((j) => [0, 1, 2].reduce((s, i) => s + g.data[i * 4 + j]!, 0)); // Σ_i g[i, j]

  test('add: grad a = Σ over axis 1, grad b = Σ over axis 0', () => {
    const a = randn([3, 1], new Rng(12), { requiresGrad: true }); // [3, 1]
    const b = randn([1, 4], new Rng(13), { requiresGrad: true }); // [1, 4]
    add(a, b).backward(g);
    expect(a.grad!.shape).toEqual([3, 1]);
    expect(b.grad!.shape).toEqual([1, 4]);
    expectClose(a.grad!.data, rowSums, { atol: 1e-6, rtol: 1e-6 });
    expectClose(b.grad!.data, colSums, { atol: 1e-6, rtol: 1e-6 });
  });

  test('sub: grad b is the negated column sum', () => {
    const a = randn([3, 1], new Rng(12), { requiresGrad: true }); // [3, 1]
    const b = randn([1, 4], new Rng(13), { requiresGrad: true }); // [1, 4]
    sub(a, b).backward(g);
    expectClose(a.grad!.data, rowSums, { atol: 1e-6, rtol: 1e-6 });
    expectClose(
      b.grad!.data,
      colSums.map((v) => -v),
      { atol: 1e-6, rtol: 1e-6 },
    );
  });

  test('mul: grad a[i] = Σ_j g[i, j] b[j], grad b[j] = Σ_i g[i, j] a[i]', () => {
    const a = randn([3, 1], new Rng(12), { requiresGrad: true }); // [3, 1]
    const b = randn([1, 4], new Rng(13), { requiresGrad: true }); // [1, 4]
    mul(a, b).backward(g);
    const ga = [0, 1, 2].map((i) => [0, 1, 2, 3].reduce((s, j) => s + g.data[i * 4 + j]! * b.data[j]!, 0));
    const gb = [0, 1, 2, 3].map((j) => [0, 1, 2].reduce((s, i) => s + g.data[i * 4 + j]! * a.data[i]!, 0));
    expectClose(a.grad!.data, ga, { atol: 1e-6, rtol: 1e-5 });
    expectClose(b.grad!.data, gb, { atol: 1e-6, rtol: 1e-5 });
  });

  test('a leading broadcast axis is summed away: [4] + [2, 3, 4]', () => {
    const a = randn([4], new Rng(14), { requiresGrad: true }); // [4]
    const b = randn([2, 3, 4], new Rng(15), { requiresGrad: true }); // [2, 3, 4]
    const up = randn([2, 3, 4], new Rng(16)); // [2, 3, 4]
    add(a, b).backward(up);
    const ga = [0, 1, 2, 3].map((k) => {
      let s = 0;
      for (let r = 0; r < 6; r++) s += up.data[r * 4 + k]!;
      return s;
    });
    expect(a.grad!.shape).toEqual([4]);
    expectClose(a.grad!.data, ga, { atol: 1e-6, rtol: 1e-6 });
    expectClose(b.grad!.data, up.data, { atol: 0, rtol: 0 });
  });

  test('only inputs that require gradients receive them', () => {
    const a = randn([3, 1], new Rng(12), { requiresGrad: true }); // [3, 1]
    const b = randn([1, 4], new Rng(13)); // [1, 4]
    div(mul(sub(a, b), b), b).backward(g);
    expect(b.grad).toBeNull();
    expect(a.grad!.shape).toEqual([3, 1]);
  });
});

describe('pow', () => {
  test('tensor exponent (positive base): forward vs Math.pow, gradients for base and exponent', () => {
    const rng = new Rng(3);
    const base = rand([2, 3], rng, 0.5, 2); // [2, 3]
    const exponent = randn([3], rng); // [3]
    const expected = naiveBinary(Math.pow, base, exponent);
    const out = pow(base, exponent);
    expect(out.shape).toEqual([2, 3]);
    expectClose(out.data, expected.data, FORWARD);
    expect(gradcheck((x, y) => pow(x, y), [base, exponent], GRAD)).toMatchObject({ ok: true });
  });

  test('number exponent: any sign of base for integer powers, fractional powers of positive bases', () => {
    const x = randn([2, 4], new Rng(4)); // [2, 4]
    expectClose(
      pow(x, 3).data,
      Array.from(x.data, (v) => v ** 3),
      FORWARD,
    );
    expectClose(
      pow(x, 2).data,
      Array.from(x.data, (v) => v * v),
      FORWARD,
    );
    expect(gradcheck((t) => pow(t, 3), [x], GRAD)).toMatchObject({ ok: true });
    const positive = rand([5], new Rng(5), 0.5, 3); // [5]
    expectClose(pow(positive, 0.5).data, Array.from(positive.data, Math.sqrt), FORWARD);
    expectClose(
      pow(positive, -1.5).data,
      Array.from(positive.data, (v) => v ** -1.5),
      FORWARD,
    );
    expect(gradcheck((t) => pow(t, -1.5), [positive], GRAD)).toMatchObject({ ok: true });
  });

  test('hand-computed gradient: d(x^y)/dx = y x^(y−1), d(x^y)/dy = x^y ln x', () => {
    const x = tensor([2], undefined, { requiresGrad: true }); // [1]
    const y = tensor([3], undefined, { requiresGrad: true }); // [1]
    pow(x, y).backward();
    expect(x.grad!.item()).toBe(12);
    expectClose([y.grad!.item()], [8 * Math.LN2], { atol: 0, rtol: 1e-6 });
  });
});

describe('maximum', () => {
  /** a, and b kept at least 0.1 from a so finite differences never cross the kink. */
  function separated(shapeA: number[], shapeB: number[], seed: number): [Tensor, Tensor] {
    const rng = new Rng(seed);
    const a = randn(shapeA, rng);
    const b = randn(shapeB, rng);
    const gap = naiveBinary((x, y) => Math.abs(x - y), a, b).data;
    if (gap.every((d) => d > 0.1)) return [a, b];
    return separated(shapeA, shapeB, seed + 100);
  }

  test.each(SHAPES)('forward matches naive broadcasting and gradients pass gradcheck: %j with %j', (shapeA, shapeB) => {
    const [a, b] = separated(shapeA, shapeB, 6);
    const expected = naiveBinary(Math.max, a, b);
    const out = maximum(a, b);
    expect(out.shape).toEqual(expected.shape);
    expectClose(out.data, expected.data, { atol: 0, rtol: 0 });
    expect(gradcheck((x, y) => maximum(x, y), [a, b], GRAD)).toMatchObject({ ok: true });
  });

  test('the gradient goes to the larger side, ties to a', () => {
    const a = tensor([1, 2, 3], undefined, { requiresGrad: true }); // [3]
    const b = tensor([3, 2, 1], undefined, { requiresGrad: true }); // [3]
    maximum(a, b).backward(tensor([10, 20, 30]));
    expect(Array.from(a.grad!.data)).toEqual([0, 20, 30]);
    expect(Array.from(b.grad!.data)).toEqual([10, 0, 0]);
  });

  test('a broadcast number: relu-like maximum(x, 0)', () => {
    const x = tensor([-1, 0.5, 2], undefined, { requiresGrad: true }); // [3]
    const y = maximum(x, 0);
    expect(Array.from(y.data)).toEqual([0, 0.5, 2]);
    y.backward(tensor([1, 1, 1]));
    expect(Array.from(x.grad!.data)).toEqual([0, 1, 1]);
  });
});
