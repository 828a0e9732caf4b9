import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { Rng } from '../../rng';
import { matmul } from '../../ops/matmul';
import { tensor } from '../../creation';
import { expectClose } from '../../testing/expect-close';
import { matmulKernelJs } from '../js/matmul';
import type { MatmulKernel } from '../matmul';
import { getKernels, setKernels } from '../registry';
import { loadWasmKernels, wasmSimdSupported } from './load-wasm-kernels';
import { createMatmulKernelWasm } from './matmul';
import type { WasmKernelInstance } from './wasm-kernel-instance';

// The kernel computes out[m, n] = op(A) [m, k] · op(B) [k, n] at offsets into flat buffers, in float32.

/** Unit roundoff of float32. */
const U = 2 ** -24;

/** A buffer of `size` random values (float32), with `pad` garbage values before it and 3 after. */
function buffer(pad: number, size: number, rng: Rng): Float32Array {
  const data = new Float32Array(pad + size + 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return data;
}

/**
 * Naive float64 product over the logical indices, and per element Σ_p |a_ip·b_pj|: any float32
 * summation order is within γ_k·Σ|a||b| (γ_k = k·u / (1 − k·u)) of the exact value, plus one rounding.
 */
function naive(a: Float32Array, ao: number, b: Float32Array, bo: number, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean) {
  const value = new Float64Array(m * n);
  const bound = new Float64Array(m * n);
  const gamma = (k * U) / (1 - k * U);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        const aip = transposeA ? a[ao + p * m + i]! : a[ao + i * k + p]!;
        const bpj = transposeB ? b[bo + j * k + p]! : b[bo + p * n + j]!;
        s += aip * bpj;
        abs += Math.abs(aip * bpj);
      }
      value[i * n + j] = s;
      bound[i * n + j] = gamma * abs + U * Math.abs(s) + 1e-30;
    }
  }
  return { value, bound };
}

/** Throws unless |actual − expected| ≤ bound elementwise, naming the worst element. */
function expectWithin(actual: ArrayLike<number>, expected: Float64Array, bound: Float64Array): void {
  let worst = -1;
  let worstRatio = 1;
  for (let i = 0; i < expected.length; i++) {
    const ratio = Math.abs(actual[i]! - expected[i]!) / bound[i]!;
    if (!(ratio <= worstRatio)) {
      worst = i;
      worstRatio = ratio;
    }
  }
  if (worst >= 0) {
    throw new Error(`element ${worst}: ${actual[worst]} vs ${expected[worst]} (error ${worstRatio.toPrecision(3)}× the bound ${bound[worst]})`);
  }
}

let wasm: WasmKernelInstance;
let kernel: MatmulKernel;

beforeAll(async () => {
  // Node ≥ 16.4 runs WebAssembly SIMD: its absence here is a failure, never a skip.
  expect(wasmSimdSupported()).toBe(true);
  const loaded = await loadWasmKernels({ relaxedSimd: false });
  expect(loaded).not.toBeNull();
  wasm = loaded!;
  kernel = createMatmulKernelWasm(wasm);
});

const FLAGS = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;

const SHAPES = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 33, 65],
  [64, 64, 64],
  [100, 1, 100],
  [1, 100, 1],
  [130, 257, 96],
  [5, 9, 300], // k past one packed block (KC = 256)
  [7, 1030, 3], // n past one packed block (NC = 1024)
  [2, 3, 1],
] as const;

describe('createMatmulKernelWasm (plain SIMD build)', () => {
  describe.each(FLAGS)('transposeA %s, transposeB %s', (transposeA, transposeB) => {
    test.each(SHAPES.map(([m, n, k]) => ({ m, n, k })))('m $m, n $n, k $k at offsets, vs float64 naive', ({ m, n, k }) => {
      const rng = new Rng(m * 1000 + n * 10 + k);
      const [ao, bo, oo] = [5, 2, 7];
      const a = buffer(ao, m * k, rng);
      const b = buffer(bo, k * n, rng);
      const out = new Float32Array(oo + m * n + 4).fill(NaN); // every written cell must be overwritten
      kernel(a, ao, b, bo, out, oo, m, n, k, transposeA, transposeB);
      const { value, bound } = naive(a, ao, b, bo, m, n, k, transposeA, transposeB);
      expectWithin(out.subarray(oo, oo + m * n), value, bound);
      // nothing outside [oo, oo + m·n) is touched
      expect(Array.from(out.subarray(0, oo)).every(Number.isNaN)).toBe(true);
      expect(Array.from(out.subarray(oo + m * n)).every(Number.isNaN)).toBe(true);
    });
  });

  test('overwrites (does not accumulate into) the output, also after a larger product grew the memory', () => {
    const rng = new Rng(3);
    const big = buffer(0, 700 * 700, rng);
    const bigOut = new Float32Array(700 * 700);
    kernel(big, 0, big, 0, bigOut, 0, 700, 700, 700, false, true);
    const a = new Float32Array([1, 2, 3, 4]); // [2, 2]
    const b = new Float32Array([5, 6, 7, 8]); // [2, 2]
    for (const [ta, tb] of FLAGS) {
      const out = new Float32Array(4).fill(1000);
      kernel(a, 0, b, 0, out, 0, 2, 2, 2, ta, tb);
      expect(Array.from(out)).toEqual(Array.from(naive(a, 0, b, 0, 2, 2, 2, ta, tb).value));
    }
  });

  test('NaN and Infinity propagate the same way under every transpose flag (0 · ∞ = NaN)', () => {
    const a = new Float32Array([0, 1]); // [1, 2]
    const b = new Float32Array([Infinity, 1, 2, NaN]); // [2, 2]
    const bT = new Float32Array([Infinity, 2, 1, NaN]); // stored [n, k]
    for (const [ta, tb] of FLAGS) {
      const out = new Float32Array(2);
      kernel(a, 0, tb ? bT : b, 0, out, 0, 1, 2, 2, ta, tb);
      expect(Array.from(out)).toEqual([NaN, NaN]);
    }
  });

  test('k = 0 writes zeros; m = 0 or n = 0 writes nothing', () => {
    const out = new Float32Array(6).fill(NaN);
    kernel(new Float32Array(0), 0, new Float32Array(0), 0, out, 0, 2, 3, 0, false, false);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0, 0]);
    out.fill(NaN);
    kernel(new Float32Array(3), 0, new Float32Array(0), 0, out, 0, 0, 3, 1, false, true);
    kernel(new Float32Array(0), 0, new Float32Array(3), 0, out, 0, 2, 0, 1, true, false);
    expect(Array.from(out).every(Number.isNaN)).toBe(true);
  });
});

describe('the matmul op with the WebAssembly kernel registered', () => {
  let restore: (() => void) | null = null;
  afterEach(() => {
    restore?.();
    restore = null;
    expect(getKernels().matmul).toBe(matmulKernelJs);
  });

  /** Runs `fn` once with the JS kernel and once with the WASM kernel. */
  function both<T>(fn: () => T): [T, T] {
    expect(getKernels().matmul).toBe(matmulKernelJs);
    const js = fn();
    restore = setKernels({ matmul: kernel });
    const w = fn();
    restore();
    restore = null;
    return [js, w];
  }

  test('broadcast batch dims under every transpose flag', () => {
    const rng = new Rng(11);
    for (const [transposeA, transposeB] of FLAGS) {
      // a [2, 1, m, k] (or [.., k, m]), b [3, k, n] (or [.., n, k]) -> [2, 3, m, n]
      const [m, n, k] = [9, 13, 21];
      const a = tensor(Array.from({ length: 2 * m * k }, () => rng.normal()), transposeA ? [2, 1, k, m] : [2, 1, m, k]);
      const b = tensor(Array.from({ length: 3 * k * n }, () => rng.normal()), transposeB ? [3, n, k] : [3, k, n]);
      const [js, w] = both(() => matmul(a, b, { transposeA, transposeB }));
      expect(w.shape).toEqual([2, 3, m, n]);
      expectClose(w.data, js.data, { atol: 1e-5, rtol: 1e-5 });
    }
  });

  test('gradients with the WebAssembly kernel equal those with the JS kernel', () => {
    const rng = new Rng(12);
    for (const [transposeA, transposeB] of FLAGS) {
      const [m, n, k] = [7, 10, 19];
      const aData = Array.from({ length: 2 * m * k }, () => rng.normal());
      const bData = Array.from({ length: k * n }, () => rng.normal());
      const weights = tensor(Array.from({ length: 2 * m * n }, () => rng.normal()), [2, m, n]);
      const [js, w] = both(() => {
        const a = tensor(aData, transposeA ? [2, k, m] : [2, m, k], { requiresGrad: true });
        const b = tensor(bData, transposeB ? [n, k] : [k, n], { requiresGrad: true });
        const loss = matmul(a, b, { transposeA, transposeB }).mul(weights).sum();
        loss.backward();
        return { loss: loss.item(), gA: Array.from(a.grad!.data), gB: Array.from(b.grad!.data) };
      });
      expect(w.loss).toBeCloseTo(js.loss, 3);
      expectClose(w.gA, js.gA, { atol: 1e-5, rtol: 1e-5 });
      expectClose(w.gB, js.gB, { atol: 1e-5, rtol: 1e-5 });
    }
  });
});
