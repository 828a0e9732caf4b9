import { describe, expect, test } from 'vitest';
import { randn } from '../creation';
import { ShapeError } from '../errors/shape-error';
import { Rng } from '../rng';
import { Tensor } from '../tensor';
import { expectClose } from '../testing/expect-close';
import { expectThrows } from '../testing/expect-throws';
import { gradcheck } from '../testing/gradcheck';
import { matmul } from './matmul';
import { transpose } from './permute';
import { slice } from './slice';

// Shape letters: batch dims [...], a is [..., m, k] (stored [..., k, m] with transposeA),
// b is [..., k, n] (stored [..., n, k] with transposeB), out is [..., m, n].
const FORWARD = { atol: 1e-5, rtol: 1e-5 };
const GRAD = { atol: 1e-3, rtol: 1e-2 };

/** Naive batched matmul: broadcast batch indices by index arithmetic, triple loop in float64. */
function naiveMatmul(a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean): { shape: number[]; data: number[] } {
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [m, k] = transposeA ? [ac, ar] : [ar, ac];
  const n = transposeB ? br : bc;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const dim = (s: readonly number[], i: number): number => s[i - (rank - s.length)] ?? 1;
  const batch = Array.from({ length: rank }, (_, i) => Math.max(dim(aBatch, i), dim(bBatch, i)));
  const count = batch.reduce((p, d) => p * d, 1);
  const data: number[] = [];
  for (let t = 0; t < count; t++) {
    const index = new Array<number>(rank);
    let rest = t;
    for (let i = rank - 1; i >= 0; i--) {
      index[i] = rest % batch[i]!;
      rest = Math.floor(rest / batch[i]!);
    }
    let am = 0;
    let bm = 0;
    for (let i = 0; i < rank; i++) {
      if (i >= rank - aBatch.length) am = am * dim(aBatch, i) + (dim(aBatch, i) === 1 ? 0 : index[i]!);
      if (i >= rank - bBatch.length) bm = bm * dim(bBatch, i) + (dim(bBatch, i) === 1 ? 0 : index[i]!);
    }
    const A = (i: number, p: number): number => a.data[am * m * k + (transposeA ? p * m + i : i * k + p)]!;
    const B = (p: number, j: number): number => b.data[bm * k * n + (transposeB ? j * k + p : p * n + j)]!;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A(i, p) * B(p, j);
        data.push(s);
      }
    }
  }
  return { shape: [...batch, m, n], data };
}

/** Stored shapes for logical a [...aBatch, m, k] and b [...bBatch, k, n] under the transpose flags. */
function operands(
  aBatch: number[],
  bBatch: number[],
  m: number,
  k: number,
  n: number,
  transposeA: boolean,
  transposeB: boolean,
  seed: number,
): [Tensor, Tensor] {
  const rng = new Rng(seed);
  const a = randn([...aBatch, ...(transposeA ? [k, m] : [m, k])], rng);
  const b = randn([...bBatch, ...(transposeB ? [n, k] : [k, n])], rng);
  return [a, b];
}

const FLAGS = [
  { transposeA: false, transposeB: false },
  { transposeA: true, transposeB: false },
  { transposeA: false, transposeB: true },
  { transposeA: true, transposeB: true },
];

// [aBatch, bBatch, expected out batch]
const BATCHES: [number[], number[], number[]][] = [
  [[], [], []], // rank 2
  [[3], [3], [3]], // rank 3
  [
    [2, 3],
    [2, 3],
    [2, 3],
  ], // rank 4
  [[2, 1], [5], [2, 5]], // [2, 1, 3, 4] x [5, 4, 2] -> [2, 5, 3, 2]
  [[4], [], [4]], // rank 3 x rank 2
  [[], [2, 2], [2, 2]], // rank 2 x rank 4
];

describe('matmul forward', () => {
  describe.each(FLAGS)('transposeA $transposeA, transposeB $transposeB', (flags) => {
    test.each(BATCHES)('batch %j x %j vs naive', (aBatch, bBatch, outBatch) => {
      const [a, b] = operands(aBatch, bBatch, 3, 4, 2, flags.transposeA, flags.transposeB, 1);
      const out = matmul(a, b, flags);
      const expected = naiveMatmul(a, b, flags.transposeA, flags.transposeB);
      expect(out.shape).toEqual([...outBatch, 3, 2]);
      expect(expected.shape).toEqual(out.shape);
      expectClose(out.data, expected.data, FORWARD);
    });

    test('odd sizes (m 7, k 5, n 17) vs naive', () => {
      const [a, b] = operands([2], [2], 7, 5, 17, flags.transposeA, flags.transposeB, 2);
      expectClose(matmul(a, b, flags).data, naiveMatmul(a, b, flags.transposeA, flags.transposeB).data, FORWARD);
    });
  });

  test('the brief example: [2, 1, 3, 4] x [5, 4, 2] -> [2, 5, 3, 2]', () => {
    const rng = new Rng(3);
    const a = randn([2, 1, 3, 4], rng); // [2, 1, 3, 4]
    const b = randn([5, 4, 2], rng); // [5, 4, 2]
    const out = matmul(a, b); // [2, 1, 3, 4] x [5, 4, 2] -> [2, 5, 3, 2]
    expect(out.shape).toEqual([2, 5, 3, 2]);
    expectClose(out.data, naiveMatmul(a, b, false, false).data, FORWARD);
  });

  test('hand-computed 2x2', () => {
    const a = new Tensor(new Float32Array([1, 2, 3, 4]), [2, 2]); // [2, 2]
    const b = new Tensor(new Float32Array([5, 6, 7, 8]), [2, 2]); // [2, 2]
    expect(matmul(a, b).toArray()).toEqual([
      [19, 22],
      [43, 50],
    ]);
    expect(matmul(a, b, { transposeA: true }).toArray()).toEqual([
      [26, 30],
      [38, 44],
    ]);
    expect(matmul(a, b, { transposeB: true }).toArray()).toEqual([
      [17, 23],
      [39, 53],
    ]);
    expect(matmul(a, b, { transposeA: true, transposeB: true }).toArray()).toEqual([
      [23, 31],
      [34, 46],
    ]);
  });

  test('transpose flags equal explicit transposes', () => {
    const rng = new Rng(4);
    const a = randn([2, 4, 3], rng); // [B, k, m]
    const b = randn([2, 5, 4], rng); // [B, n, k]
    const fused = matmul(a, b, { transposeA: true, transposeB: true }); // [B, m, k] x [B, k, n] -> [B, m, n]
    const plain = matmul(transpose(a), transpose(b)); // same, with copies
    expect(fused.shape).toEqual([2, 3, 5]);
    expectClose(fused.data, plain.data, { atol: 1e-6, rtol: 1e-6 });
  });

  test('batched equals one-by-one', () => {
    const rng = new Rng(5);
    const a = randn([3, 4, 6], rng); // [B, m, k]
    const b = randn([3, 6, 2], rng); // [B, k, n]
    const batched = matmul(a, b); // [B, m, n]
    for (let i = 0; i < 3; i++) {
      const one = matmul(slice(a, 0, i, i + 1), slice(b, 0, i, i + 1)); // [1, m, n]
      expectClose(slice(batched, 0, i, i + 1).data, one.data, { atol: 0, rtol: 0 });
    }
  });

  test('zero-size dimensions', () => {
    const out = matmul(randn([2, 0], new Rng(0)), randn([0, 3], new Rng(0))); // k = 0: zeros
    expect(out.shape).toEqual([2, 3]);
    expect(Array.from(out.data)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(matmul(randn([0, 2, 4], new Rng(0)), randn([4, 3], new Rng(0))).shape).toEqual([0, 2, 3]);
  });
});

describe('matmul gradients', () => {
  describe.each(FLAGS)('transposeA $transposeA, transposeB $transposeB', (flags) => {
    test.each(BATCHES)('batch %j x %j passes gradcheck', (aBatch, bBatch) => {
      const [a, b] = operands(aBatch, bBatch, 3, 4, 2, flags.transposeA, flags.transposeB, 6);
      expect(gradcheck((x, y) => matmul(x, y, flags), [a, b], GRAD)).toMatchObject({ ok: true });
    });
  });

  test('a broadcast operand gets the sum over the batch: dB = Σ_b A_bᵀ G_b', () => {
    const rng = new Rng(7);
    const a = randn([3, 2, 4], rng, { requiresGrad: true }); // [B, m, k]
    const b = randn([4, 5], rng, { requiresGrad: true }); // [k, n], broadcast over B
    const g = randn([3, 2, 5], rng); // [B, m, n]
    matmul(a, b).backward(g);
    const expectedB: number[] = [];
    for (let p = 0; p < 4; p++) {
      for (let j = 0; j < 5; j++) {
        let s = 0;
        for (let t = 0; t < 3; t++) for (let i = 0; i < 2; i++) s += a.data[t * 8 + i * 4 + p]! * g.data[t * 10 + i * 5 + j]!;
        expectedB.push(s);
      }
    }
    expect(b.grad!.shape).toEqual([4, 5]);
    expectClose(b.grad!.data, expectedB, { atol: 1e-5, rtol: 1e-5 });
    // dA_b = G_b Bᵀ
    const expectedA: number[] = [];
    for (let t = 0; t < 3; t++) {
      for (let i = 0; i < 2; i++) {
        for (let p = 0; p < 4; p++) {
          let s = 0;
          for (let j = 0; j < 5; j++) s += g.data[t * 10 + i * 5 + j]! * b.data[p * 5 + j]!;
          expectedA.push(s);
        }
      }
    }
    expect(a.grad!.shape).toEqual([3, 2, 4]);
    expectClose(a.grad!.data, expectedA, { atol: 1e-5, rtol: 1e-5 });
  });

  test('only the operand that requires gradients receives one', () => {
    const rng = new Rng(8);
    const a = randn([2, 3], rng, { requiresGrad: true }); // [m, k]
    const b = randn([3, 4], rng); // [k, n]
    matmul(a, b).backward(randn([2, 4], rng));
    expect(a.grad!.shape).toEqual([2, 3]);
    expect(b.grad).toBeNull();
  });
});

describe('matmul errors', () => {
  test('mismatched inner sizes name both shapes', () => {
    const error = expectThrows(() => matmul(randn([2, 3], new Rng(0)), randn([4, 5], new Rng(0))), ShapeError);
    expect(error.op).toBe('matmul');
    expect(error.argument).toBe('b');
    expect(error.shapes).toEqual({ a: [2, 3], b: [4, 5] });
    expect(error.message).toContain('[2, 3]');
    expect(error.message).toContain('[4, 5]');
    expect(error.message).toMatch(/3 and 4/);
  });

  test('mismatched inner sizes under a transpose flag', () => {
    // a [2, 3] read as [3, 2] (k 2) against b [3, 5] (k 3)
    const error = expectThrows(() => matmul(randn([2, 3], new Rng(0)), randn([3, 5], new Rng(0)), { transposeA: true }), ShapeError);
    expect(error.message).toContain('aᵀ [2, 3]');
    expect(error.message).toContain('[3, 5]');
  });

  test('rank below 2 and non-broadcasting batches', () => {
    const low = expectThrows(() => matmul(randn([3], new Rng(0)), randn([3, 2], new Rng(0))), ShapeError);
    expect(low.argument).toBe('a');
    expect(low.shapes).toEqual({ a: [3], b: [3, 2] });
    const batch = expectThrows(() => matmul(randn([2, 3, 4], new Rng(0)), randn([3, 4, 5], new Rng(0))), ShapeError);
    expect(batch.op).toBe('matmul');
    expect(batch.message).toContain('[2]');
    expect(batch.message).toContain('[3]');
  });
});
