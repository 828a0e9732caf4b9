import { describe, expect, it } from 'vitest';
import { buildLabel, heedWasmBuild, relaxedBuildValidates } from './wasm-build.mjs';
import { RELAXED_MADD_MODULE } from './relaxed-madd-module.mjs';

describe('the wasm build heed ran', () => {
  it('comes from what useWasmKernels() resolved', () => {
    const build = heedWasmBuild({ simd: 'relaxed', threads: 2 }, 2, null);
    expect(build).toMatchObject({ kind: 'wasm', simd: 'relaxed', threads: 2 });
    expect(buildLabel(build)).toBe('wasm relaxed SIMD ×2');
    expect(buildLabel(heedWasmBuild({ simd: 'plain', threads: 1 }, 2, null))).toBe('wasm SIMD-128 ×1 (asked 2)');
  });

  it('refuses a false or malformed result instead of mislabelling a row', () => {
    expect(() => heedWasmBuild(false, 1, null)).toThrow(/resolved false/);
    expect(() => heedWasmBuild({ simd: 'fast', threads: 1 }, 1, null)).toThrow(/expected simd 'relaxed' or 'plain'/);
  });

  it('where useWasmKernels() resolves true, reads the instance through the fallback', () => {
    const asked = [];
    const relaxed = (threads) => (asked.push(threads), false);
    const build = heedWasmBuild(true, 2, { relaxed, threadsStarted: 1 });
    expect(build).toMatchObject({ simd: 'plain', threads: 1, threadsAsked: 2 });
    expect(asked).toEqual([1]); // the one-thread build is the one that ran
    expect(buildLabel(build)).toBe('wasm SIMD-128 ×1 (asked 2)');
  });

  it("relaxed-build detection agrees with this engine's own answer for relaxed SIMD", () => {
    const engine = WebAssembly.validate(RELAXED_MADD_MODULE);
    expect(relaxedBuildValidates(1)).toBe(engine);
    expect(relaxedBuildValidates(2)).toBe(engine);
  });

  it('labels the other builds', () => {
    expect(buildLabel({ kind: 'js', threads: 1 })).toBe('js ×1');
    expect(buildLabel({ kind: 'native', threads: 2 })).toBe('native ×2');
    expect(buildLabel({ kind: 'wasm', simd: 'plain', threads: null })).toBe('wasm SIMD-128');
  });
});
