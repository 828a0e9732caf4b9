import { afterEach, describe, expect, test } from 'vitest';
import { tensor } from '../creation';
import { matmul } from '../ops/matmul';
import { matmulKernelJs, type MatmulKernel } from './matmul';
import { getKernels, plainKernels, setKernels } from './registry';

describe('kernel registry', () => {
  let restore: (() => void) | null = null;
  afterEach(() => {
    restore?.();
    restore = null;
  });

  test('starts with the plain TypeScript kernels', () => {
    expect(getKernels().matmul).toBe(matmulKernelJs);
    expect(plainKernels().matmul).toBe(matmulKernelJs);
    expect(Object.isFrozen(plainKernels())).toBe(true);
  });

  test('setKernels swaps the kernel matmul uses; the returned function restores it', () => {
    const calls: { m: number; n: number; k: number; transposeA: boolean; transposeB: boolean }[] = [];
    const spy: MatmulKernel = (a, ao, b, bo, out, oo, m, n, k, transposeA, transposeB) => {
      calls.push({ m, n, k, transposeA, transposeB });
      plainKernels().matmul(a, ao, b, bo, out, oo, m, n, k, transposeA, transposeB);
    };
    const a = tensor([[[1, 2], [3, 4]], [[0, 1], [1, 0]]]); // [2, 2, 2]
    const b = tensor([[5, 6, 7], [8, 9, 10]]); // [2, 3]
    const before = matmul(a, b).toArray();

    restore = setKernels({ matmul: spy });
    expect(getKernels().matmul).toBe(spy);
    const during = matmul(a, b, { transposeA: true }).toArray();
    expect(calls).toEqual([
      { m: 2, n: 3, k: 2, transposeA: true, transposeB: false },
      { m: 2, n: 3, k: 2, transposeA: true, transposeB: false },
    ]); // once per batch matrix
    expect(during).toEqual([
      [
        [29, 33, 37],
        [42, 48, 54],
      ],
      [
        [8, 9, 10],
        [5, 6, 7],
      ],
    ]); // hand-computed aᵀ b per batch

    restore();
    restore = null;
    expect(getKernels().matmul).toBe(matmulKernelJs);
    calls.length = 0;
    expect(matmul(a, b).toArray()).toEqual(before);
    expect(calls).toEqual([]);
  });

  test('a replaced kernel really is the one computing results', () => {
    restore = setKernels({ matmul: (_a, _ao, _b, _bo, out, oo, m, n) => out.fill(7, oo, oo + m * n) });
    expect(matmul(tensor([[1, 2]]), tensor([[3], [4]])).toArray()).toEqual([[7]]);
  });

  test('setKernels with nothing changes nothing; nested restores unwind in order', () => {
    const first: MatmulKernel = (...args) => matmulKernelJs(...args);
    const second: MatmulKernel = (...args) => matmulKernelJs(...args);
    const undoFirst = setKernels({ matmul: first });
    const undoNothing = setKernels({});
    expect(getKernels().matmul).toBe(first);
    const undoSecond = setKernels({ matmul: second });
    expect(getKernels().matmul).toBe(second);
    undoSecond();
    expect(getKernels().matmul).toBe(first);
    undoNothing();
    expect(getKernels().matmul).toBe(first);
    undoFirst();
    expect(getKernels().matmul).toBe(matmulKernelJs);
  });
});
