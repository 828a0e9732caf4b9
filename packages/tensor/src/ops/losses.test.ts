import { describe, expect, test } from 'vitest';
import { randn, tensor } from '../creation';
import { ArgumentError } from '../errors/argument-error';
import { ShapeError } from '../errors/shape-error';
import { Rng } from '../rng';
import type { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { mul } from './binary';
import { crossEntropy, mseLoss } from './losses';

// Shape letters: logits [N, C], targets [N].
const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** Float64 mean of log Σ_c exp(z_c) − z_target, with the row maximum subtracted. */
function naiveCrossEntropy(logits: Tensor, targets: number[]): number {
  const [n, c] = logits.shape as [number, number];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const row = Array.from(logits.data.subarray(i * c, (i + 1) * c));
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, z) => s + Math.exp(z - m), 0));
    total += lse - row[targets[i]!]!;
  }
  return total / n;
}

/** Float64 (softmax(z) − onehot(target)) / N. */
function naiveCrossEntropyGrad(logits: Tensor, targets: number[]): number[] {
  const [n, c] = logits.shape as [number, number];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from(logits.data.subarray(i * c, (i + 1) * c));
    const m = Math.max(...row);
    const total = row.reduce((s, z) => s + Math.exp(z - m), 0);
    row.forEach((z, j) => out.push((Math.exp(z - m) / total - (j === targets[i] ? 1 : 0)) / n));
  }
  return out;
}

describe('crossEntropy', () => {
  const targets = [2, 0, 4, 4, 1, 3];

  test('value vs naive float64 log-sum-exp; targets as an array or a tensor', () => {
    const logits = mul(randn([6, 5], new Rng(1)), 3); // [N, C]
    const loss = crossEntropy(logits, targets); // []
    expect(loss.shape).toEqual([]);
    expectClose([loss.item()], [naiveCrossEntropy(logits, targets)], { atol: 1e-6, rtol: 1e-6 });
    expect(crossEntropy(logits, tensor(targets)).item()).toBe(loss.item());
  });

  test('hand example: uniform logits give ln C', () => {
    expectClose([crossEntropy(tensor([[0, 0, 0, 0]]), [3]).item()], [Math.log(4)], { atol: 0, rtol: 1e-6 });
  });

  test('gradient is (softmax − onehot) / N, and passes gradcheck', () => {
    const logits = randn([6, 5], new Rng(2), { requiresGrad: true }); // [N, C]
    crossEntropy(logits, targets).backward();
    expect(logits.grad!.shape).toEqual([6, 5]);
    expectClose(logits.grad!.data, naiveCrossEntropyGrad(logits, targets), { atol: 1e-7, rtol: 1e-5 });
    expect(gradcheck((z) => crossEntropy(z, targets), [randn([6, 5], new Rng(3))], GRAD)).toMatchObject({ ok: true });
  });

  test('stable for logits around ±1e4', () => {
    const logits = tensor(
      [
        [1e4, 1e4 - 2, 1e4 - 5],
        [-1e4, -1e4 + 1, -1e4],
      ],
      undefined,
      { requiresGrad: true },
    ); // [2, 3]
    const loss = crossEntropy(logits, [1, 0]);
    expect(Number.isFinite(loss.item())).toBe(true);
    const shifted = tensor([
      [0, -2, -5],
      [0, 1, 0],
    ]); // same rows minus a per-row constant
    expectClose([loss.item()], [naiveCrossEntropy(shifted, [1, 0])], { atol: 1e-6, rtol: 1e-6 });
    loss.backward();
    expectClose(logits.grad!.data, naiveCrossEntropyGrad(shifted, [1, 0]), { atol: 1e-7, rtol: 1e-5 });
  });

  test('shape errors name both shapes; bad target ids are ArgumentErrors', () => {
    const logits = randn([3, 4], new Rng(0)); // [N, C]
    const error = expectThrows(() => crossEntropy(logits, [0, 1]), ShapeError);
    expect(error.op).toBe('crossEntropy');
    expect(error.shapes).toEqual({ logits: [3, 4], targets: [2] });
    expect(error.message).toContain('[3, 4]');
    expect(error.message).toContain('[2]');
    expect(expectThrows(() => crossEntropy(randn([3], new Rng(0)), [0, 1, 2]), ShapeError).shapes).toEqual({ logits: [3], targets: [3] });
    expect(() => crossEntropy(logits, [0, 4, 1])).toThrow(ArgumentError);
    expect(() => crossEntropy(logits, [0, -1, 1])).toThrow(ArgumentError);
  });
});

describe('mseLoss', () => {
  test('value vs naive mean of squared differences', () => {
    const prediction = randn([3, 4], new Rng(4)); // [3, 4]
    const target = randn([3, 4], new Rng(5)); // [3, 4]
    const loss = mseLoss(prediction, target);
    expect(loss.shape).toEqual([]);
    const expected = Array.from(prediction.data).reduce((s, p, i) => s + (p - target.data[i]!) ** 2, 0) / 12;
    expectClose([loss.item()], [expected], { atol: 1e-7, rtol: 1e-6 });
    expect(mseLoss(tensor([1, 2]), tensor([1, 4])).item()).toBe(2); // (0 + 4) / 2
  });

  test('gradient 2(p − t)/n for both arguments (with opposite signs), and gradcheck', () => {
    const prediction = randn([2, 3], new Rng(6), { requiresGrad: true }); // [2, 3]
    const target = randn([2, 3], new Rng(7), { requiresGrad: true }); // [2, 3]
    mseLoss(prediction, target).backward();
    const expected = Array.from(prediction.data, (p, i) => (2 * (p - target.data[i]!)) / 6);
    expectClose(prediction.grad!.data, expected, { atol: 1e-7, rtol: 1e-6 });
    expectClose(
      target.grad!.data,
      expected.map((v) => -v),
      { atol: 1e-7, rtol: 1e-6 },
    );
    expect(gradcheck((p, t) => mseLoss(p, t), [randn([2, 3], new Rng(8)), randn([2, 3], new Rng(9))], GRAD)).toMatchObject({ ok: true });
  });

  test('different shapes are a ShapeError naming both, even when they would broadcast', () => {
    const error = expectThrows(() => mseLoss(randn([3, 1], new Rng(0)), randn([3], new Rng(0))), ShapeError);
    expect(error.op).toBe('mseLoss');
    expect(error.shapes).toEqual({ prediction: [3, 1], target: [3] });
    expect(error.message).toContain('[3, 1]');
  });
});

describe('crossEntropy target validation', () => {
  test('names crossEntropy, the target and the logits shape when a target is out of range', () => {
    expect(() => crossEntropy(tensor([[1, 2, 3]]), [3])).toThrow(
      'crossEntropy: targets[0] = 3 is not a class index in [0, 3) for logits [1, 3]',
    );
    expect(() => crossEntropy(tensor([[1, 2, 3]]), [0.5])).toThrow(ArgumentError);
  });
});
