import { describe, expect, test } from 'vitest';
import { ones, tensor, zeros } from './creation';
import { ArgumentError } from './errors/argument-error';
import { ShapeError } from './errors/shape-error';
import { add, mul, sub } from './ops/binary';
import { sum } from './ops/reduce';
import { tanh } from './ops/unary';
import { fromOp, Tensor } from './tensor';
import { expectClose } from './testing/expect-close';
import { expectThrows } from './testing/expect-throws';

describe('Tensor', () => {
  test('holds float32 data of the size of its shape, with a frozen shape', () => {
    const t = new Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]); // [2, 3]
    expect(t.rank).toBe(2);
    expect(t.size).toBe(6);
    expect(t.isLeaf).toBe(true);
    expect(t.requiresGrad).toBe(false);
    expect(t.grad).toBeNull();
    expect(Object.isFrozen(t.shape)).toBe(true);
    const shape = [2, 3];
    const u = new Tensor(new Float32Array(6), shape);
    shape[0] = 5;
    expect(u.shape).toEqual([2, 3]); // copied, not aliased
  });

  test('rejects data that does not fit the shape', () => {
    const error = expectThrows(() => new Tensor(new Float32Array(5), [2, 3]), ShapeError);
    expect(error.op).toBe('Tensor');
    expect(error.argument).toBe('data');
    expect(error.shapes).toEqual({ shape: [2, 3] });
    expect(error.message).toBe('Tensor: data of length 5 does not fit shape [2, 3] (6 elements)');
  });

  test('rejects negative and non-integer dimensions', () => {
    expect(expectThrows(() => new Tensor(new Float32Array(0), [-1, 0]), ArgumentError).op).toBe('Tensor');
    expect(expectThrows(() => new Tensor(new Float32Array(1), [0.5, 2]), ArgumentError).message).toContain('[0.5, 2]');
  });

  test('toArray nests by shape', () => {
    const t = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 3, 2]); // [2, 3, 2]
    expect(t.toArray()).toEqual([
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      [
        [7, 8],
        [9, 10],
        [11, 12],
      ],
    ]);
    expect(tensor([[], []]).toArray()).toEqual([[], []]);
    expect(tensor(4).toArray()).toBe(4);
  });

  test('toArray(rank) returns the same nesting and refuses another rank, naming both', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [1, 2, 3]); // [1, 2, 3]
    expect(t.toArray(3)).toEqual([
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
    ]);
    expect(t.toArray(3)[0]![1]!.map((x) => x * 10)).toEqual([40, 50, 60]);
    expect(tensor(4).toArray(0)).toBe(4);
    expect(tensor([[], []]).toArray(2)).toEqual([[], []]);
    const error = expectThrows(() => t.toArray(2), ShapeError);
    expect(error.op).toBe('toArray');
    expect(error.argument).toBe('rank');
    expect(error.message).toBe('toArray: toArray(2) needs a rank-2 tensor, got [1, 2, 3] (rank 3)');
  });

  test('toString is readable: aligned rows, the shape, integer and fractional formats', () => {
    expect(
      tensor([
        [1, 2],
        [3, 4],
      ]).toString(),
    ).toBe('tensor([[1, 2],\n        [3, 4]], shape=[2, 2])');
    expect(tensor([0.5, -1.25]).toString()).toBe('tensor([0.5000, -1.2500], shape=[2])');
    expect(tensor([1e-5, 123456.5]).toString()).toBe('tensor([1.000e-5, 1.235e+5], shape=[2])');
    expect(tensor(3, undefined, { requiresGrad: true }).toString()).toBe('tensor(3, shape=[], requiresGrad)');
    expect(`${tensor([[[1]], [[2]]])}`).toBe('tensor([[[1]],\n        [[2]]], shape=[2, 1, 1])');
  });

  test('item returns the one value, and refuses larger tensors', () => {
    expect(tensor([[2.5]]).item()).toBe(2.5);
    const error = expectThrows(() => tensor([1, 2]).item(), ShapeError);
    expect(error.op).toBe('item');
    expect(error.message).toContain('[2]');
  });

  test('clone copies the data and drops gradient tracking', () => {
    const t = tensor([1, 2, 3], undefined, { requiresGrad: true }); // [3]
    const c = t.clone();
    expect(c.requiresGrad).toBe(false);
    expect(c.shape).toEqual([3]);
    c.data[0] = 10;
    expect(t.data[0]).toBe(1);
  });

  test('detach shares the data, is a leaf and tracks no gradient', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true }); // [2]
    const y = mul(x, 3); // [2]
    const d = y.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.isLeaf).toBe(true);
    expect(d.data).toBe(y.data);
  });

  test('method forms equal the functions', () => {
    const a = tensor([
      [1, 2],
      [3, 4],
    ]); // [2, 2]
    const b = tensor([
      [0.5, -1],
      [2, 0.25],
    ]); // [2, 2]
    expect(Array.from(a.add(b).data)).toEqual(Array.from(add(a, b).data));
    expect(Array.from(a.sub(b).data)).toEqual(Array.from(sub(a, b).data));
    expect(Array.from(a.mul(b).data)).toEqual([0.5, -2, 6, 1]);
    expect(Array.from(a.div(b).data)).toEqual([2, -2, 1.5, 16]);
    expect(Array.from(a.neg().data)).toEqual([-1, -2, -3, -4]);
    expect(Array.from(a.matmul(b).data)).toEqual([4.5, -0.5, 9.5, -2]); // hand-computed
    expect(a.transpose().toArray()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(a.permute([1, 0]).toArray()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(a.reshape([4]).shape).toEqual([4]);
    expect(a.sum().item()).toBe(10);
    expect(Array.from(a.sum(0).data)).toEqual([4, 6]);
    expect(a.mean(1, true).toArray()).toEqual([[1.5], [3.5]]);
    expectClose(a.exp().data, [1, 2, 3, 4].map(Math.exp), { atol: 0, rtol: 1e-6 });
    expectClose(a.log().data, [1, 2, 3, 4].map(Math.log), { atol: 1e-7, rtol: 1e-6 });
    expectClose(a.tanh().data, [1, 2, 3, 4].map(Math.tanh), { atol: 0, rtol: 1e-6 });
    const s = a.softmax().data;
    expectClose(s, [1 / (1 + Math.E), Math.E / (1 + Math.E), 1 / (1 + Math.E), Math.E / (1 + Math.E)], { atol: 1e-7, rtol: 1e-6 });
  });
});

describe('backward', () => {
  test('on a scalar seeds 1: d(Σ x²)/dx = 2x', () => {
    const x = tensor([1, -2, 3], undefined, { requiresGrad: true }); // [3]
    const loss = sum(mul(x, x)); // []
    loss.backward();
    expect(x.grad!.shape).toEqual([3]);
    expect(Array.from(x.grad!.data)).toEqual([2, -4, 6]);
  });

  test('on a non-scalar takes an explicit upstream gradient', () => {
    const x = tensor([1, 2, 3], undefined, { requiresGrad: true }); // [3]
    const y = mul(x, x); // [3]
    y.backward(tensor([1, 0.5, -1]));
    expect(Array.from(x.grad!.data)).toEqual([2, 2, -6]); // 2x ⊙ g
  });

  test('a one-element tensor of any rank counts as a scalar', () => {
    const x = tensor([[2]], undefined, { requiresGrad: true }); // [1, 1]
    mul(x, x).backward();
    expect(x.grad!.toArray()).toEqual([[4]]);
  });

  test('a non-scalar without a gradient is an ArgumentError naming the shape', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true }); // [2]
    const error = expectThrows(() => mul(x, 2).backward(), ArgumentError);
    expect(error.op).toBe('backward');
    expect(error.argument).toBe('grad');
    expect(error.message).toContain('[2]');
  });

  test('a gradient of the wrong shape is a ShapeError naming both shapes', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true }); // [2]
    const error = expectThrows(() => mul(x, 2).backward(ones([2, 1])), ShapeError);
    expect(error.op).toBe('backward');
    expect(error.shapes).toEqual({ this: [2], grad: [2, 1] });
    expect(error.message).toContain('[2, 1]');
    expect(error.message).toContain('[2]');
  });

  test('on a tensor without requiresGrad is an ArgumentError', () => {
    expect(expectThrows(() => mul(tensor([1]), 2).backward(), ArgumentError).op).toBe('backward');
  });

  test('gradients accumulate across backward calls', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true }); // [2]
    sum(mul(x, 3)).backward();
    sum(mul(x, x)).backward();
    expect(Array.from(x.grad!.data)).toEqual([3 + 2, 3 + 4]);
  });

  test('a tensor used twice (diamond) gets the sum of both paths', () => {
    // y = a·b with a = x + 1, b = 2x: dy/dx = b + 2a = 2x + 2(x + 1) = 4x + 2
    const x = tensor([0.5, -1, 3], undefined, { requiresGrad: true }); // [3]
    const a = add(x, 1);
    const b = mul(x, 2);
    sum(mul(a, b)).backward();
    expect(Array.from(x.grad!.data)).toEqual([4, -2, 14]);

    const z = tensor([1.5], undefined, { requiresGrad: true }); // [1]
    add(z, z).backward(); // x + x
    expect(z.grad!.item()).toBe(2);
    const w = tensor([1.5], undefined, { requiresGrad: true }); // [1]
    sub(w, w).backward(); // x − x
    expect(w.grad!.item()).toBe(0);
  });

  test('an intermediate reused by several consumers is back-propagated once, after all of them', () => {
    // h = tanh(x); y = h + h·h + 3h  ->  dy/dx = (1 + 2h + 3)(1 − h²)
    const x = tensor([0.3, -0.7], undefined, { requiresGrad: true }); // [2]
    const h = tanh(x);
    sum(add(add(h, mul(h, h)), mul(h, 3))).backward();
    const expected = [0.3, -0.7].map((v) => {
      const t = Math.tanh(Math.fround(v));
      return (4 + 2 * t) * (1 - t * t);
    });
    expectClose(x.grad!.data, expected, { atol: 1e-6, rtol: 1e-5 });
  });

  test('inputs without requiresGrad get no gradient', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true }); // [2]
    const c = tensor([5, 6]); // [2]
    sum(mul(x, c)).backward();
    expect(Array.from(x.grad!.data)).toEqual([5, 6]);
    expect(c.grad).toBeNull();
  });

  test('detach stops the gradient', () => {
    const x = tensor([2, 3], undefined, { requiresGrad: true }); // [2]
    // y = x · stop(x): dy/dx = stop(x) only
    sum(mul(x, x.detach())).backward();
    expect(Array.from(x.grad!.data)).toEqual([2, 3]);
  });

  test('backward of a leaf gives its seed; intermediate results keep no grad', () => {
    const x = tensor([4], undefined, { requiresGrad: true }); // [1]
    x.backward();
    expect(x.grad!.item()).toBe(1);
    const y = mul(x, 2);
    y.backward();
    expect(y.grad).toBeNull();
    expect(x.grad!.item()).toBe(3);
  });

  test('the gradient is a copy: later accumulation does not alias the upstream tensor', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true }); // [2]
    const seed = tensor([1, 1]); // [2]
    x.backward(seed);
    x.backward(seed);
    expect(Array.from(seed.data)).toEqual([1, 1]);
    expect(Array.from(x.grad!.data)).toEqual([2, 2]);
  });

  test('a deep chain (20 000 ops) does not overflow the stack', () => {
    const x = tensor([1], undefined, { requiresGrad: true }); // [1]
    let y = x;
    for (let i = 0; i < 20_000; i++) y = mul(y, 1.0001);
    y.backward();
    // y = x · 1.0001^20000, dy/dx = 1.0001^20000 (float32 products: loose relative tolerance)
    const factor = Math.pow(1.0001, 20_000);
    expectClose([y.item(), x.grad!.item()], [factor, factor], { atol: 0, rtol: 1e-3 });
  });
});

describe('fromOp', () => {
  test('records the op only when an input requires gradients', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true }); // [2]
    const c = zeros([2]); // [2]
    const tracked = fromOp(new Float32Array(2), [2], 'custom', [x, c], (g) => [g, null]);
    expect(tracked.requiresGrad).toBe(true);
    expect(tracked.node!.op).toBe('custom');
    expect(tracked.node!.inputs).toEqual([x, c]);
    const untracked = fromOp(new Float32Array(2), [2], 'custom', [c], (g) => [g]);
    expect(untracked.requiresGrad).toBe(false);
    expect(untracked.node).toBeNull();
  });

  test('its backward receives the upstream gradient and routes the results to the inputs', () => {
    const x = tensor([1, 2], undefined, { requiresGrad: true }); // [2]
    const y = fromOp(new Float32Array(2), [2], 'double', [x], (g) => [mul(g, 2)]);
    y.backward(tensor([3, -1]));
    expect(Array.from(x.grad!.data)).toEqual([6, -2]);
  });
});
