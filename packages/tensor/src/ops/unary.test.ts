import { describe, expect, test } from 'vitest';
import { rand, randn, tensor } from '../creation';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { gradcheck } from '../testing/gradcheck';
import { abs, exp, log, neg, relu, sigmoid, sqrt, tanh } from './unary';

const FORWARD = { atol: 1e-7, rtol: 1e-6 };
const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** N(0, 1) values pushed at least 0.1 away from 0 (for ops with a kink there). */
function awayFromZero(shape: number[], rng: Rng): Tensor {
  const t = randn(shape, rng);
  for (let i = 0; i < t.size; i++) t.data[i] = Math.sign(t.data[i]! || 1) * (0.1 + Math.abs(t.data[i]!));
  return t;
}

// Each op with a float64 reference, its derivative, and an input domain.
const OPS = [
  { name: 'neg', op: neg, ref: (x: number) => -x, dref: () => -1, input: (r: Rng) => randn([2, 3, 4], r) },
  { name: 'exp', op: exp, ref: Math.exp, dref: Math.exp, input: (r: Rng) => randn([2, 3, 4], r) },
  { name: 'log', op: log, ref: Math.log, dref: (x: number) => 1 / x, input: (r: Rng) => rand([2, 3, 4], r, 0.2, 3) },
  { name: 'tanh', op: tanh, ref: Math.tanh, dref: (x: number) => 1 - Math.tanh(x) ** 2, input: (r: Rng) => randn([2, 3, 4], r) },
  {
    name: 'sigmoid',
    op: sigmoid,
    ref: (x: number) => 1 / (1 + Math.exp(-x)),
    dref: (x: number) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2,
    input: (r: Rng) => randn([2, 3, 4], r),
  },
  {
    name: 'relu',
    op: relu,
    ref: (x: number) => (x > 0 ? x : 0),
    dref: (x: number) => (x > 0 ? 1 : 0),
    input: (r: Rng) => awayFromZero([2, 3, 4], r),
  },
  { name: 'sqrt', op: sqrt, ref: Math.sqrt, dref: (x: number) => 0.5 / Math.sqrt(x), input: (r: Rng) => rand([2, 3, 4], r, 0.2, 3) },
  { name: 'abs', op: abs, ref: Math.abs, dref: Math.sign, input: (r: Rng) => awayFromZero([2, 3, 4], r) },
] as const;

describe.each(OPS)('$name', ({ name, op, ref, dref, input }) => {
  test('forward matches the float64 reference, shape unchanged', () => {
    const x = input(new Rng(1)); // [2, 3, 4]
    const y = op(x);
    expect(y.shape).toEqual([2, 3, 4]);
    expectClose(y.data, Array.from(x.data, ref), FORWARD, name);
  });

  test('gradient passes gradcheck', () => {
    expect(gradcheck((t) => op(t), [input(new Rng(2))], GRAD)).toMatchObject({ ok: true });
  });

  test('gradient matches the analytic derivative times the upstream gradient', () => {
    const x = input(new Rng(3)); // [2, 3, 4]
    x.requiresGrad = true;
    const g = randn([2, 3, 4], new Rng(4)); // [2, 3, 4]
    op(x).backward(g);
    expectClose(
      x.grad!.data,
      Array.from(x.data, (v, i) => dref(v) * g.data[i]!),
      { atol: 1e-6, rtol: 1e-5 },
      name,
    );
  });

  test('works on a scalar', () => {
    const x = tensor(0.75); // []
    expect(op(x).shape).toEqual([]);
    expectClose([op(x).item()], [ref(0.75)], FORWARD);
  });
});

describe('saturation at large |x|', () => {
  test('±100 and ±1000 stay finite, in [0, 1], with finite gradients', () => {
    const x = tensor([-1000, -100, 100, 1000], undefined, { requiresGrad: true }); // [4]
    const y = sigmoid(x);
    expect(Array.from(y.data).every(Number.isFinite)).toBe(true);
    expectClose(y.data, [0, 1 / (1 + Math.exp(100)), 1, 1], { atol: 1e-30, rtol: 1e-6 });
    y.backward(tensor([1, 1, 1, 1]));
    expect(Array.from(x.grad!.data).every((v) => Number.isFinite(v) && v >= 0 && v < 1e-30)).toBe(true);
  });

  test('tanh saturates to ±1 with zero gradient, exp overflows to Infinity as in float32', () => {
    const x = tensor([-100, 100], undefined, { requiresGrad: true }); // [2]
    const y = tanh(x);
    expect(Array.from(y.data)).toEqual([-1, 1]);
    y.backward(tensor([1, 1]));
    expect(Array.from(x.grad!.data)).toEqual([0, 0]);
    expect(exp(tensor([100])).item()).toBe(Infinity); // e¹⁰⁰ > float32 max
  });
});

describe('kinks and domains', () => {
  test('relu and abs have gradient 0 at 0', () => {
    const x = tensor([-1, 0, 2], undefined, { requiresGrad: true }); // [3]
    relu(x).backward(tensor([5, 5, 5]));
    expect(Array.from(x.grad!.data)).toEqual([0, 0, 5]);
    const z = tensor([-1, 0, 2], undefined, { requiresGrad: true }); // [3]
    abs(z).backward(tensor([5, 5, 5]));
    expect(Array.from(z.grad!.data)).toEqual([-5, 0, 5]);
  });

  test('log and sqrt follow IEEE outside their domain', () => {
    expect(Array.from(log(tensor([0, -1])).data)).toEqual([-Infinity, NaN]);
    expect(Array.from(sqrt(tensor([0, -1])).data)).toEqual([0, NaN]);
  });
});
