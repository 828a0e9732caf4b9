import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

// The relaxed-SIMD build (fused multiply-add) is what browsers get; Node 20 validates it only with
// --experimental-wasm-relaxed-simd, so it is checked in a child process started with that flag.
// Node ≥ 21 validates it without one (and Node 24 refuses the flag as a bad option).
const flags = Number(process.versions.node.split('.')[0]) >= 21 ? [] : ['--experimental-wasm-relaxed-simd'];
describe('the relaxed-SIMD build of the WebAssembly kernels', () => {
  test('matmul, exp and the fused attention forward and backward agree with float64 references', () => {
    const script = fileURLToPath(new URL('../../../scripts/check-relaxed-simd.mjs', import.meta.url));
    const output = execFileSync(process.execPath, [...flags, script], { encoding: 'utf8', timeout: 60_000 });
    expect(JSON.parse(output.trim().split('\n').pop()!)).toEqual({ ok: true });
  });
});
