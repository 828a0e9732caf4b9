import { beforeAll, describe, expect, test } from 'vitest';
import { expWasm } from './exp';
import { loadWasmKernels } from './load-wasm-kernels';
import type { WasmKernelInstance } from './wasm-kernel-instance';

const FLT_MIN = 2 ** -126;
const FLT_MAX = 3.4028234663852886e38;

let builds: WasmKernelInstance[];

beforeAll(async () => {
  const plain = await loadWasmKernels({ relaxedSimd: false });
  const relaxed = await loadWasmKernels({ relaxedSimd: true });
  expect(plain).not.toBeNull(); // Node runs WebAssembly SIMD: never a skip
  expect(relaxed?.relaxedSimd).toBe(true); // and relaxed SIMD with the flag vitest.config.ts passes
  builds = [plain!, relaxed!];
});

describe('expWasm (vectorized e^x in the WebAssembly module)', () => {
  test('relative error ≤ 1.2e-7 against Math.exp over a dense grid of [−88, 89]', () => {
    const count = 1_000_003; // odd length: the scalar tail runs too
    const x = new Float32Array(count);
    for (let i = 0; i < count; i++) x[i] = -88 + (177 * i) / (count - 1);
    for (const wasm of builds) {
      const y = x.slice();
      expWasm(wasm, y);
      let worst = 0;
      let worstAt = 0;
      for (let i = 0; i < count; i++) {
        const exact = Math.exp(x[i]!);
        if (exact < FLT_MIN || exact > FLT_MAX) continue; // not a normal float32: checked below
        const rel = Math.abs(y[i]! - exact) / exact;
        if (rel > worst) {
          worst = rel;
          worstAt = x[i]!;
        }
      }
      expect(worst, `worst at x = ${worstAt}`).toBeLessThanOrEqual(1.2e-7);
    }
  });

  test('small arguments, every alignment of the scalar tail', () => {
    for (const wasm of builds) {
      for (let length = 0; length < 9; length++) {
        const x = Float32Array.from({ length }, (_, i) => (i - 4) * 0.37);
        const y = x.slice();
        expWasm(wasm, y);
        for (let i = 0; i < length; i++) expect(Math.abs(y[i]! - Math.exp(x[i]!)) / Math.exp(x[i]!)).toBeLessThan(1.2e-7);
      }
    }
  });

  test('limits: −∞ and large negative → 0, overflow → +∞, NaN → NaN, 0 → 1', () => {
    for (const wasm of builds) {
      const x = new Float32Array([-Infinity, -1e30, -104, -87.5, Infinity, 1e30, 88.8, NaN, 0, -0]);
      expWasm(wasm, x);
      expect(Array.from(x)).toEqual([0, 0, 0, 0, Infinity, Infinity, Infinity, NaN, 1, 1]);
    }
  });

  test('near the overflow threshold stays finite and accurate', () => {
    for (const wasm of builds) {
      const x = new Float32Array([88.0, 88.5, 88.72]);
      const y = x.slice();
      expWasm(wasm, y);
      for (let i = 0; i < x.length; i++) expect(Math.abs(y[i]! - Math.exp(x[i]!)) / Math.exp(x[i]!)).toBeLessThan(1.2e-7);
    }
  });
});
