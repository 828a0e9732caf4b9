import { describe, expect, test } from 'vitest';
import { Rng } from '../../rng';
import { expectClose } from '../../testing/expect-close';
import { matmulKernelJs } from './matmul';

// The kernel computes out[m, n] = op(A) [m, k] · op(B) [k, n] at offsets into flat buffers.
const TOL = { atol: 1e-5, rtol: 1e-5 };

/** A buffer of `size` random values (float32), plus `pad` garbage values before it. */
function buffer(pad: number, size: number, rng: Rng): Float32Array {
  const data = new Float32Array(pad + size + 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return data;
}

/** Naive triple loop in float64 over the logical indices. */
function naive(a: Float32Array, ao: number, b: Float32Array, bo: number, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const aip = transposeA ? a[ao + p * m + i]! : a[ao + i * k + p]!;
        const bpj = transposeB ? b[bo + j * k + p]! : b[bo + p * n + j]!;
        s += aip * bpj;
      }
      out.push(s);
    }
  }
  return out;
}

const SIZES = [1, 3, 5, 7, 17];
const CASES = SIZES.flatMap((m) => SIZES.map((n) => ({ m, n, k: SIZES[(m + n) % SIZES.length]! })));

describe('matmulKernelJs', () => {
  describe.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('transposeA %s, transposeB %s', (transposeA, transposeB) => {
    test.each(CASES)('m $m, n $n, k $k at offsets, vs naive', ({ m, n, k }) => {
      const rng = new Rng(m * 100 + n * 10 + k);
      const [ao, bo, oo] = [5, 2, 7];
      const a = buffer(ao, m * k, rng);
      const b = buffer(bo, k * n, rng);
      const out = new Float32Array(oo + m * n + 4).fill(NaN); // NaN everywhere: every written cell must be overwritten
      matmulKernelJs(a, ao, b, bo, out, oo, m, n, k, transposeA, transposeB);
      expectClose(out.subarray(oo, oo + m * n), naive(a, ao, b, bo, m, n, k, transposeA, transposeB), TOL);
      // nothing outside [oo, oo + m·n) is touched
      expect(Array.from(out.subarray(0, oo)).every(Number.isNaN)).toBe(true);
      expect(Array.from(out.subarray(oo + m * n)).every(Number.isNaN)).toBe(true);
    });
  });

  test('overwrites (does not accumulate into) the output', () => {
    const a = new Float32Array([1, 2, 3, 4]); // [2, 2]
    const b = new Float32Array([5, 6, 7, 8]); // [2, 2]
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const out = new Float32Array(4).fill(1000);
      matmulKernelJs(a, 0, b, 0, out, 0, 2, 2, 2, ta, tb);
      expect(Array.from(out)).toEqual(naive(a, 0, b, 0, 2, 2, 2, ta, tb));
    }
  });

  test('NaN and Infinity propagate the same way under every transpose flag (0 · ∞ = NaN)', () => {
    // A = [[0, 1]], B = [[∞, 1], [2, NaN]] (logical [k, n]); out = [0·∞ + 1·2, 0·1 + 1·NaN] = [NaN, NaN]
    const a = new Float32Array([0, 1]); // [1, 2], same storage either way (m = 1)
    const b = new Float32Array([Infinity, 1, 2, NaN]); // [2, 2]
    const bT = new Float32Array([Infinity, 2, 1, NaN]); // stored [n, k]
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const out = new Float32Array(2);
      matmulKernelJs(a, 0, tb ? bT : b, 0, out, 0, 1, 2, 2, ta, tb);
      expect(Array.from(out)).toEqual([NaN, NaN]);
    }
  });

  test('k = 0 writes zeros', () => {
    const out = new Float32Array(6).fill(NaN);
    matmulKernelJs(new Float32Array(0), 0, new Float32Array(0), 0, out, 0, 2, 3, 0, false, false);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
    out.fill(NaN);
    matmulKernelJs(new Float32Array(0), 0, new Float32Array(0), 0, out, 0, 2, 3, 0, false, true);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
