// Test-only (exported from @heed/tensor/testing): the conformance cases of the matmul, softmax, reduction and
// elementwise kernels, against naive float64 references (matmul: within a float32 error bound any summation
// order meets).
import { Rng } from '../rng';
import { check, type ConformanceBinaryOp, type ConformanceCase, type ConformanceUnaryOp } from './conformance-target';
import { expectClose } from './expect-close';
import { expectWithin, naiveBroadcast, naiveMatmul, naiveReduce, naiveSoftmax } from './naive-kernels';

const FLAGS = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;
const SIZES = [1, 3, 5, 7, 17];
const SHAPES = [
  ...SIZES.flatMap((m) => SIZES.map((n) => [m, n, SIZES[(m + n) % SIZES.length]!] as const)),
  [64, 64, 64],
  [100, 1, 100],
  [1, 100, 1],
  [130, 257, 96],
  [5, 9, 300], // k past one packed block (KC = 256)
  [7, 1030, 3], // n past one packed block (NC = 1024)
  [2, 3, 1],
  [1030, 70, 300], // rows over both threads
] as const; // [m, n, k]

/** A buffer of `size` random values (float32), with `pad` garbage values before it and 3 after. */
function buffer(pad: number, size: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: pad + size + 3 }, () => rng.normal());
}

/**
 * The float64 reference of bias + op(A)·op(B) with its error bound: the product of op(A) with a column
 * of ones appended and op(B) with the bias appended as a last row (k + 1 terms, the bias one of them).
 */
function naiveBiasedMatmul(
  a: Float32Array,
  ao: number,
  b: Float32Array,
  bo: number,
  bias: Float32Array,
  m: number,
  n: number,
  k: number,
  transposeA: boolean,
  transposeB: boolean,
) {
  const augmentedA = new Float32Array(m * (k + 1)); // [m, k + 1]
  const augmentedB = new Float32Array((k + 1) * n); // [k + 1, n]
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) augmentedA[i * (k + 1) + p] = transposeA ? a[ao + p * m + i]! : a[ao + i * k + p]!;
    augmentedA[i * (k + 1) + k] = 1;
  }
  for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) augmentedB[p * n + j] = transposeB ? b[bo + j * k + p]! : b[bo + p * n + j]!;
  augmentedB.set(bias.subarray(0, n), k * n);
  return naiveMatmul(augmentedA, 0, augmentedB, 0, m, n, k + 1, false, false);
}

const sameValues = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]));

const matmulGroup = 'matmul against a float64 reference with a float32 error bound';
const matmulCases: ConformanceCase[] = [
  ...FLAGS.map(
    ([transposeA, transposeB]): ConformanceCase => ({
      group: matmulGroup,
      name: `transposeA ${transposeA}, transposeB ${transposeB}: tile edges ±1, primes, blocks; nothing outside out is touched`,
      async run(t) {
        for (const [m, n, k] of SHAPES) {
          const rng = new Rng(m * 1000 + n * 10 + k);
          const [ao, bo] = [5, 2];
          const a = buffer(ao, m * k, rng);
          const b = buffer(bo, k * n, rng);
          const out = await t.matmul(a, ao, b, bo, m, n, k, transposeA, transposeB);
          const { value, bound } = naiveMatmul(a, ao, b, bo, m, n, k, transposeA, transposeB);
          expectWithin(out, value, bound, `${t.name} ${m}×${n}×${k}`);
        }
      },
    }),
  ),
  ...FLAGS.map(
    ([transposeA, transposeB]): ConformanceCase => ({
      group: matmulGroup,
      name: `transposeA ${transposeA}, transposeB ${transposeB}, with a bias added to every row: the same shapes, k = 0 included`,
      async run(t) {
        for (const [m, n, k] of [...SHAPES, [3, 5, 0], [13, 9, 0]] as const) {
          const rng = new Rng(m * 1000 + n * 10 + k + 7);
          const [ao, bo] = [3, 6];
          const a = buffer(ao, m * k, rng);
          const b = buffer(bo, k * n, rng);
          const bias = buffer(0, n, rng); // [n] and 3 values past it that must not be read into out
          const out = await t.matmul(a, ao, b, bo, m, n, k, transposeA, transposeB, bias);
          const { value, bound } = naiveBiasedMatmul(a, ao, b, bo, bias, m, n, k, transposeA, transposeB);
          expectWithin(out, value, bound, `${t.name} ${m}×${n}×${k} + bias`);
        }
      },
    }),
  ),
  {
    group: matmulGroup,
    name: 'a bias of null or undefined is no bias',
    async run(t) {
      const rng = new Rng(11);
      const [m, n, k] = [7, 10, 5];
      const a = buffer(0, m * k, rng);
      const b = buffer(0, k * n, rng);
      const without = await t.matmul(a, 0, b, 0, m, n, k, false, true);
      for (const bias of [null, undefined]) {
        const out = await t.matmul(a, 0, b, 0, m, n, k, false, true, bias);
        check(sameValues(out, without), `bias ${bias}: ${Array.from(out)} differs from no bias ${Array.from(without)}`);
      }
    },
  },
  {
    group: matmulGroup,
    name: 'overwrites (does not accumulate into) the output, also after a larger product grew the memory',
    async run(t) {
      const rng = new Rng(3);
      const big = buffer(0, 700 * 700, rng);
      await t.matmul(big, 0, big, 0, 700, 700, 700, false, true);
      const a = new Float32Array([1, 2, 3, 4]); // [2, 2]
      const b = new Float32Array([5, 6, 7, 8]); // [2, 2]
      for (const [ta, tb] of FLAGS) {
        const out = await t.matmul(a, 0, b, 0, 2, 2, 2, ta, tb);
        const expected = naiveMatmul(a, 0, b, 0, 2, 2, 2, ta, tb).value;
        check(sameValues(out, expected), `${ta} ${tb}: ${Array.from(out)}, expected ${Array.from(expected)}`);
      }
    },
  },
  {
    group: matmulGroup,
    name: 'NaN and Infinity propagate the same way under every transpose flag (0 · ∞ = NaN)',
    async run(t) {
      // A = [[0, 1]], B = [[∞, 1], [2, NaN]] (logical [k, n]); out = [0·∞ + 1·2, 0·1 + 1·NaN] = [NaN, NaN]
      const a = new Float32Array([0, 1]); // [1, 2], same storage either way (m = 1)
      const b = new Float32Array([Infinity, 1, 2, NaN]); // [2, 2]
      const bT = new Float32Array([Infinity, 2, 1, NaN]); // stored [n, k]
      for (const [ta, tb] of FLAGS) {
        const out = await t.matmul(a, 0, tb ? bT : b, 0, 1, 2, 2, ta, tb);
        check(out.length === 2 && out.every(Number.isNaN), `${ta} ${tb}: ${Array.from(out)}, expected [NaN, NaN]`);
      }
    },
  },
  {
    group: matmulGroup,
    name: 'k = 0 writes zeros; m = 0 or n = 0 writes nothing',
    async run(t) {
      for (const tb of [false, true]) {
        const out = await t.matmul(new Float32Array(0), 0, new Float32Array(0), 0, 2, 3, 0, false, tb);
        check(sameValues(out, [0, 0, 0, 0, 0, 0]), `k = 0: ${Array.from(out)}, expected zeros`);
      }
      const rows = await t.matmul(new Float32Array(3), 0, new Float32Array(0), 0, 0, 3, 1, false, true);
      const cols = await t.matmul(new Float32Array(0), 0, new Float32Array(3), 0, 2, 0, 1, true, false);
      check(rows.length === 0 && cols.length === 0, 'm = 0 or n = 0: a non-empty output');
    },
  },
];

const VIEWS = [
  [1, 1, 1],
  [1, 7, 1],
  [3, 13, 1],
  [2, 5, 3],
  [1, 1, 17],
  [4, 65, 2],
] as const; // [outer, n, inner]

/** Strides of `shape` broadcast to `out` (0 along its size-1 and missing axes). */
function broadcastStrides(shape: number[], out: number[]): number[] {
  const result = new Array<number>(out.length).fill(0);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    result[d + out.length - shape.length] = shape[d] === 1 ? 0 : step;
    step *= shape[d]!;
  }
  return result;
}

const elementwiseGroup = 'softmax, reductions and elementwise kernels against naive references';
const elementwiseCases: ConformanceCase[] = [
  {
    group: elementwiseGroup,
    name: 'softmax and log-softmax along the middle axis; a fully masked (all −∞) row is 0 (log: −∞), never NaN',
    async run(t) {
      const rng = new Rng(41);
      for (const [outer, n, inner] of VIEWS) {
        const x = Float32Array.from({ length: outer * n * inner }, () => 3 * rng.normal());
        if (n > 1) for (let j = 0; j < n; j++) x[j * inner] = -Infinity; // row (0, 0) fully masked
        for (const log of [false, true]) {
          const out = await t.softmax(x, outer, n, inner, log);
          expectClose(out, naiveSoftmax(x, outer, n, inner, log), t.tolerances.softmax, `${t.name} [${outer}, ${n}, ${inner}] log=${log}`);
        }
      }
    },
  },
  {
    group: elementwiseGroup,
    name: 'sum, max and min along the middle axis (NaN wins max and min)',
    async run(t) {
      const rng = new Rng(42);
      for (const [outer, n, inner] of VIEWS) {
        const x = Float32Array.from({ length: outer * n * inner }, () => rng.normal());
        if (x.length > 4) x[3] = NaN;
        for (const kind of ['sum', 'max', 'min'] as const) {
          const out = await t.reduceAxis(kind, x, outer, n, inner);
          expectClose(out, naiveReduce(kind, x, outer, n, inner), t.tolerances.reduce, `${t.name} ${kind} [${outer}, ${n}, ${inner}]`);
        }
      }
    },
  },
  {
    group: elementwiseGroup,
    name: 'binary ops with broadcasting (scalar, row, column, both ways) and every unary op',
    async run(t) {
      const rng = new Rng(43);
      const binary: [ConformanceBinaryOp, (x: number, y: number) => number][] = [
        ['add', (x, y) => x + y],
        ['sub', (x, y) => x - y],
        ['mul', (x, y) => x * y],
        ['div', (x, y) => x / y],
        ['pow', (x, y) => Math.pow(Math.abs(x), y)],
        ['maximum', (x, y) => Math.max(x, y)],
      ];
      const shapes: [number[], number[], number[]][] = [
        [[], [], []],
        [[7], [7], [7]],
        [[3, 5], [1], [3, 5]],
        [
          [3, 1],
          [1, 5],
          [3, 5],
        ],
        [
          [2, 1, 5],
          [3, 1],
          [2, 3, 5],
        ],
      ];
      for (const [aShape, bShape, outShape] of shapes) {
        const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
        const a = Float32Array.from({ length: size(aShape) }, () => rng.normal());
        const b = Float32Array.from({ length: size(bShape) }, () => rng.normal());
        for (const [op, f] of binary) {
          const base = op === 'pow' ? a.map(Math.abs) : a;
          const out = await t.binary(op, base, broadcastStrides(aShape, outShape), b, broadcastStrides(bShape, outShape), outShape);
          expectClose(
            out,
            naiveBroadcast(f, base, aShape, b, bShape, outShape),
            t.tolerances.binary,
            `${t.name} ${op} ${aShape} ${bShape}`,
          );
        }
      }
      const x = Float32Array.from([-1000, -3.5, -1, -0, 0, 0.25, 2, 80, 1000, NaN]);
      const unary: [ConformanceUnaryOp, (v: number) => number][] = [
        ['neg', (v) => -v],
        ['exp', Math.exp],
        ['log', Math.log],
        ['tanh', Math.tanh],
        ['sigmoid', (v) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)))],
        ['relu', (v) => (v > 0 ? v : 0)],
        ['sqrt', Math.sqrt],
        ['abs', Math.abs],
      ];
      for (const [op, f] of unary) {
        const out = await t.unary(op, x);
        expectClose(out, Array.from(x, f), t.tolerances.unary, `${t.name} unary ${op}`);
      }
    },
  },
];

/** The matmul cases, then the softmax, reduction and elementwise ones. */
export const kernelConformanceCases: readonly ConformanceCase[] = [...matmulCases, ...elementwiseCases];
