import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { mul } from './binary';
import { logSoftmax, softmax } from './softmax';
import { exp } from './unary';

// x is [A, B, C] = [2, 3, 4]; softmax normalizes along one axis.
const FORWARD = { atol: 1e-7, rtol: 1e-6 };
const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** Flat indices of every slice along `axis` (each inner array is one softmax row). */
function rows(shape: readonly number[], axis: number): number[][] {
  const n = shape[axis]!;
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d]!;
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d]!;
  const out: number[][] = [];
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) out.push(Array.from({ length: n }, (_, j) => (o * n + j) * inner + i));
  return out;
}

/** Float64 softmax (or log-softmax) along `axis`, log-sum-exp with the maximum subtracted. */
function naiveSoftmax(x: Tensor, axis: number, log: boolean): number[] {
  const out = new Array<number>(x.size);
  for (const row of rows(x.shape, axis)) {
    const v = row.map((p) => x.data[p]!);
    const m = Math.max(...v);
    const lse = m + Math.log(v.reduce((s, z) => s + Math.exp(z - m), 0));
    row.forEach((p, j) => (out[p] = log ? v[j]! - lse : Math.exp(v[j]! - lse)));
  }
  return out;
}

describe.each([
  { name: 'softmax', op: softmax, log: false },
  { name: 'logSoftmax', op: logSoftmax, log: true },
])('$name', ({ name, op, log }) => {
  test.each([0, 1, 2, -1, -3])('axis %i vs naive float64, and gradcheck', (axis) => {
    const x = mul(randn([2, 3, 4], new Rng(1)), 3); // [A, B, C]
    const out = op(x, axis);
    expect(out.shape).toEqual([2, 3, 4]);
    expectClose(out.data, naiveSoftmax(x, axis < 0 ? axis + 3 : axis, log), FORWARD, name);
    expect(gradcheck((t) => op(t, axis), [x], GRAD)).toMatchObject({ ok: true });
  });

  test('default axis is the last', () => {
    const x = randn([3, 5], new Rng(2)); // [3, 5]
    expect(Array.from(op(x).data)).toEqual(Array.from(op(x, 1).data));
  });

  test('logits of 1e4 are stable: finite and equal to the shifted result', () => {
    const big = tensor([
      [1e4, 1e4 - 1, 1e4 - 3],
      [-1e4, -1e4 + 2, -1e4],
    ]); // [2, 3]
    const shifted = tensor([
      [0, -1, -3],
      [0, 2, 0],
    ]); // same rows shifted by a constant per row
    const out = op(big);
    expect(Array.from(out.data).every(Number.isFinite)).toBe(true);
    expectClose(out.data, naiveSoftmax(shifted, 1, log), { atol: 1e-6, rtol: 1e-5 });
  });

  test('an axis out of range is an ArgumentError', () => {
    expect(expectThrows(() => op(randn([2, 3], new Rng(0)), 2), ArgumentError).op).toBe(name);
  });
});

describe('softmax specifics', () => {
  test('rows sum to 1; exp(logSoftmax) equals softmax', () => {
    const x = mul(randn([4, 6], new Rng(3)), 4); // [4, 6]
    const p = softmax(x);
    for (const row of rows([4, 6], 1)) expect(row.reduce((s, i) => s + p.data[i]!, 0)).toBeCloseTo(1, 6);
    expectClose(exp(logSoftmax(x)).data, p.data, { atol: 1e-7, rtol: 1e-5 });
  });

  test('hand example: softmax([0, ln 3]) = [1/4, 3/4]', () => {
    expectClose(softmax(tensor([0, Math.log(3)])).data, [0.25, 0.75], { atol: 1e-7, rtol: 0 });
  });

  test('the gradient matches the Jacobian product y ⊙ (g − Σ g y) computed naively', () => {
    const x = randn([3, 4], new Rng(4), { requiresGrad: true }); // [3, 4]
    const g = randn([3, 4], new Rng(5)); // [3, 4]
    softmax(x, 0).backward(g);
    const y = naiveSoftmax(x, 0, false);
    const expected = new Array<number>(12);
    for (const row of rows([3, 4], 0)) {
      // dL/dx_i = Σ_j g_j ∂y_j/∂x_i = Σ_j g_j y_j (δ_ij − y_i)
      for (const i of row) expected[i] = row.reduce((s, j) => s + g.data[j]! * y[j]! * ((i === j ? 1 : 0) - y[i]!), 0);
    }
    expectClose(x.grad!.data, expected, { atol: 1e-6, rtol: 1e-5 });
  });

  test('a row that is all −∞ gives zeros and a zero gradient, never NaN', () => {
    const x = tensor(
      [
        [-Infinity, -Infinity, -Infinity],
        [1, 2, 3],
      ],
      undefined,
      { requiresGrad: true },
    ); // [2, 3]
    const y = softmax(x);
    expect(Array.from(y.data.subarray(0, 3))).toEqual([0, 0, 0]);
    expectClose(y.data.subarray(3), naiveSoftmax(tensor([1, 2, 3]), 0, false), FORWARD);
    y.backward(
      tensor([
        [1, -2, 3],
        [0.5, 0.25, -1],
      ]),
    );
    const grad = Array.from(x.grad!.data);
    expect(grad.some(Number.isNaN)).toBe(false);
    expectClose(grad.slice(0, 3), [0, 0, 0], { atol: 0, rtol: 0 }); // ±0
  });

  test('partially masked entries get probability 0 and gradient 0; the rest renormalize', () => {
    const x = tensor([[0.5, -Infinity, 1.5, -Infinity]], undefined, { requiresGrad: true }); // [1, 4]
    const y = softmax(x);
    const e = 1 / (1 + Math.E); // softmax([0.5, 1.5]) = [1/(1+e), e/(1+e)]
    expectClose(y.data, [e, 0, 1 - e, 0], FORWARD);
    y.backward(tensor([[1, 7, -1, 9]]));
    expect(Array.from(x.grad!.data).every(Number.isFinite)).toBe(true);
    expectClose([x.grad!.data[1]!, x.grad!.data[3]!], [0, 0], { atol: 0, rtol: 0 });
  });

  test('logSoftmax keeps −∞ on masked entries and a fully masked row', () => {
    const x = tensor([
      [-Infinity, -Infinity],
      [0, -Infinity],
    ]); // [2, 2]
    expect(Array.from(logSoftmax(x).data)).toEqual([-Infinity, -Infinity, 0, -Infinity]);
  });
});

describe('logSoftmax at −∞', () => {
  test('passes no gradient to −∞ entries or fully masked rows', () => {
    const x = tensor(
      [
        [0, -Infinity, 1],
        [-Infinity, -Infinity, -Infinity],
      ],
      undefined,
      { requiresGrad: true },
    );
    const y = logSoftmax(x, -1);
    y.backward(
      tensor([
        [1, 1, 1],
        [1, 2, 3],
      ]),
    );
    const g = Array.from(x.grad!.data);
    expect(g[1]).toBe(0);
    expect(g.slice(3)).toEqual([0, 0, 0]);
    // finite entries: g − p Σg with p = softmax([0, 1]) and Σg = 3 (independent float64 check)
    const p0 = 1 / (1 + Math.E);
    expect(g[0]).toBeCloseTo(1 - 3 * p0, 6);
    expect(g[2]).toBeCloseTo(1 - 3 * (1 - p0), 6);
  });
});

describe('softmax at +∞ (scores that overflowed float32)', () => {
  test('a row with +∞ entries is uniform over them and 0 elsewhere, with the gradient of that row', () => {
    const x = tensor(
      [
        [Infinity, 1, Infinity, -Infinity],
        [Infinity, 3e38, -3e38, 0],
      ],
      undefined,
      { requiresGrad: true },
    ); // [2, 4]
    const y = softmax(x);
    expect(Array.from(y.data)).toEqual([0.5, 0, 0.5, 0, 1, 0, 0, 0]);
    y.backward(
      tensor([
        [1, 5, 3, 7],
        [2, 4, 6, 8],
      ]),
    );
    // y ⊙ (g − Σ g y) by hand: row 0: Σ g y = 2 → [0.5·(1 − 2), 0, 0.5·(3 − 2), 0]; row 1 one-hot: all 0.
    expect(Array.from(x.grad!.data)).toEqual([-0.5, 0, 0.5, 0, 0, 0, 0, 0]);
  });

  test('float32 overflow of q·k (entries 1e20) gives the uniform limit over the +∞ scores, not NaN', () => {
    const scores = mul(tensor([[1e20, 1e20, -1e20]]), tensor([[1e20, 2e20, 1e20]])); // [1e40 → ∞, ∞, −∞]
    expect(Array.from(scores.data)).toEqual([Infinity, Infinity, -Infinity]);
    expect(Array.from(softmax(scores).data)).toEqual([0.5, 0.5, 0]);
  });

  test('logSoftmax: −log k on the +∞ entries, −∞ elsewhere', () => {
    expect(Array.from(logSoftmax(tensor([[Infinity, 0, Infinity]])).data)).toEqual(
      [-Math.log(2), -Infinity, -Math.log(2)].map(Math.fround),
    );
  });
});
