import { beforeAll, describe, expect, test } from 'vitest';
import { expNonPositiveWasm, expWasm } from './exp';
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

describe('expNonPositiveWasm (the softmax weights’ e^x, x ≤ 0, in the WebAssembly module)', () => {
  test('relative error ≤ 1.2e-7 against Math.exp over a dense grid of [−88, 0]', () => {
    const count = 1_000_003; // odd length: the scalar tail runs too
    const x = new Float32Array(count);
    for (let i = 0; i < count; i++) x[i] = -88 + (88 * i) / (count - 1);
    for (const wasm of builds) {
      const y = x.slice();
      expNonPositiveWasm(wasm, y);
      let worst = 0;
      let worstAt = 0;
      for (let i = 0; i < count; i++) {
        const exact = Math.exp(x[i]!);
        if (exact < FLT_MIN) continue; // not a normal float32: checked below
        const rel = Math.abs(y[i]! - exact) / exact;
        if (rel > worst) {
          worst = rel;
          worstAt = x[i]!;
        }
      }
      expect(worst, `worst at x = ${worstAt}`).toBeLessThanOrEqual(1.2e-7);
    }
  });

  test('every 256th float32 of [−1, 0] (where the softmax weights that matter live)', () => {
    // Every 256th float32 bit pattern from −0 to −1: 0x80000000 … 0xbf800000.
    const count = 0x3f800000 / 256 + 1;
    const bits = Uint32Array.from({ length: count }, (_, i) => 0x80000000 + Math.min(i * 256, 0x3f800000));
    const x = new Float32Array(bits.buffer);
    for (const wasm of builds) {
      const y = x.slice();
      expNonPositiveWasm(wasm, y);
      let worst = 0;
      for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(y[i]! - Math.exp(x[i]!)) / Math.exp(x[i]!));
      expect(worst).toBeLessThanOrEqual(1.2e-7);
    }
  });

  test('limits: −∞ and below −87.68 → 0, NaN → NaN, ±0 → 1 exactly, tiny arguments stay accurate', () => {
    for (const wasm of builds) {
      const x = new Float32Array([-Infinity, -1e30, -104, -88, -87.7, NaN, 0, -0, -1e-30, -1e-7]);
      expNonPositiveWasm(wasm, x);
      expect(Array.from(x.subarray(0, 8))).toEqual([0, 0, 0, 0, 0, NaN, 1, 1]);
      expect(x[8]).toBe(1);
      expect(Math.abs(x[9]! - Math.exp(-1e-7))).toBeLessThanOrEqual(2 ** -24);
    }
  });

  test('between the flush and the smallest normal: finite, non-negative, at most FLT_MIN', () => {
    for (const wasm of builds) {
      const x = Float32Array.from({ length: 41 }, (_, i) => -87.68 + (i * 0.34) / 40); // [−87.68, −87.34]
      const y = x.slice();
      expNonPositiveWasm(wasm, y);
      for (let i = 0; i < x.length; i++) {
        expect(y[i]).toBeGreaterThanOrEqual(0);
        expect(y[i]).toBeLessThanOrEqual(Math.max(FLT_MIN, Math.exp(x[i]!) * (1 + 1e-6)));
      }
    }
  });
});
