import { afterEach, describe, expect, test } from 'vitest';
import { tensor } from '../creation';
import { matmul } from '../ops/matmul';
import { matmulKernelJs } from './js/matmul';
import type { MatmulKernel } from './matmul';
import { ArgumentError } from '../errors/argument-error';
import { add, mul } from '../ops/binary';
import { softmax } from '../ops/softmax';
import { sum } from '../ops/reduce';
import { exp } from '../ops/unary';
import { expectHeedError } from '../testing/expect-heed-error';
import { jsKernelSet } from './js/kernel-set';
import {
  activeKernelSet,
  getKernels,
  listKernelSets,
  plainKernels,
  registerKernelSet,
  setKernels,
  unregisterKernelSet,
  useKernelSet,
  type Kernels,
} from './registry';

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
    const a = tensor([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [0, 1],
        [1, 0],
      ],
    ]); // [2, 2, 2]
    const b = tensor([
      [5, 6, 7],
      [8, 9, 10],
    ]); // [2, 3]
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

describe('kernel sets', () => {
  afterEach(() => useKernelSet('js'));

  test("'js' is registered, complete and in use at start", () => {
    expect(listKernelSets()).toEqual(['js']);
    expect(activeKernelSet()).toBe('js');
    expect(getKernels()).toEqual(jsKernelSet.kernels);
  });

  test('every op reaches its kernel through the set in use: elementwise, reduce, softmax', () => {
    const calls: string[] = [];
    const js = plainKernels();
    const spying: Partial<Kernels> = {
      binary: (...args) => (calls.push('binary'), js.binary(...args)),
      unary: (...args) => (calls.push('unary'), js.unary(...args)),
      reduceAxis: (...args) => (calls.push('reduceAxis'), js.reduceAxis(...args)),
      softmax: (...args) => (calls.push('softmax'), js.softmax(...args)),
    };
    registerKernelSet({ name: 'spy', kernels: spying });
    useKernelSet('spy');
    expect(activeKernelSet()).toBe('spy');
    expect(getKernels().matmul).toBe(js.matmul); // not overridden: the JS kernel
    const x = tensor([
      [1, 2],
      [3, 4],
    ]); // [2, 2]
    expect(add(x, x).toArray()).toEqual([
      [2, 4],
      [6, 8],
    ]);
    expect(mul(x, 2).toArray()).toEqual([
      [2, 4],
      [6, 8],
    ]);
    expect(exp(tensor([0])).toArray()).toEqual([1]);
    expect(sum(x, 1).toArray()).toEqual([3, 7]);
    expect(softmax(tensor([0, 0]), 0).toArray()).toEqual([0.5, 0.5]);
    expect(new Set(calls)).toEqual(new Set(['binary', 'unary', 'reduceAxis', 'softmax']));
    useKernelSet('js');
    calls.length = 0;
    add(x, x);
    expect(calls).toEqual([]);
  });

  test('a set is disposed when unregistered (the JS kernels take its place if it was in use) or replaced under its name', () => {
    let disposed = 0;
    registerKernelSet({ name: 'held', kernels: { matmul: (...args) => plainKernels().matmul(...args) }, dispose: () => disposed++ });
    useKernelSet('held');
    useKernelSet('js');
    useKernelSet('held'); // switching does not dispose
    expect(disposed).toBe(0);
    unregisterKernelSet('held');
    expect(disposed).toBe(1);
    expect(activeKernelSet()).toBe('js');
    expect(getKernels().matmul).toBe(plainKernels().matmul);
    expect(listKernelSets()).not.toContain('held');
    unregisterKernelSet('held'); // unknown: nothing happens
    const first = { name: 'named', kernels: {}, dispose: () => disposed++ };
    registerKernelSet(first);
    registerKernelSet(first); // the same set again: nothing happens
    expect(disposed).toBe(1);
    useKernelSet('named');
    const second = { name: 'named', kernels: {} };
    registerKernelSet(second); // replaces the set in use: the new one is in use, the old one disposed
    expect(disposed).toBe(2);
    expect(activeKernelSet()).toBe('named');
    expectHeedError(() => unregisterKernelSet('js'), ArgumentError, { op: 'unregisterKernelSet', argument: 'name' });
  });

  test('kernels installed with setKernels stay across a switch until their restore runs', () => {
    const mine: Kernels['matmul'] = (...args) => plainKernels().matmul(...args);
    const restore = setKernels({ matmul: mine });
    registerKernelSet({ name: 'other', kernels: { matmul: (...args) => plainKernels().matmul(...args) } });
    useKernelSet('other');
    expect(getKernels().matmul).toBe(mine);
    restore();
    expect(getKernels().matmul).toBe(plainKernels().matmul);
  });

  test('bad sets and unknown names are ArgumentErrors naming the call and argument, and change nothing', () => {
    const before = listKernelSets();
    const cases: [unknown, string][] = [
      [null, 'set'],
      [{ name: '', kernels: {} }, 'set.name'],
      [{ name: 'js', kernels: {} }, 'set.name'],
      [{ name: 'x', kernels: null }, 'set.kernels'],
      [{ name: 'x', kernels: { matmull: () => {} } }, 'set.kernels.matmull'],
      [{ name: 'x', kernels: { matmul: 1 } }, 'set.kernels.matmul'],
      [{ name: 'x', kernels: {}, dispose: 1 }, 'set.dispose'],
    ];
    for (const [set, argument] of cases)
      expectHeedError(() => registerKernelSet(set as never), ArgumentError, { op: 'registerKernelSet', argument, shapes: {} });
    const error = expectHeedError(() => useKernelSet('webgpu'), ArgumentError, { op: 'useKernelSet', argument: 'name' });
    expect(error.message).toMatch(/^useKernelSet: no kernel set named 'webgpu' \(registered: js, spy, /);
    expect(listKernelSets()).toEqual(before);
    expect(activeKernelSet()).toBe('js');
  });
});
