import { conformanceCases, type ConformanceTolerances, deviceTarget } from '@heed/tensor/testing';
import { describe, expect, test } from 'vitest';
import { BROWSER_CONFORMANCE_CASES, WEBGPU_TOLERANCES } from '../test/browser/conformance-checks';
import { testBackend } from '../test/test-backend';

// The conformance suite of @heed/tensor (the same cases every CPU kernel set runs: fused attention forward and
// backward against a naive float64 reference over sizes, masks, causal offsets, windows, GQA, layouts and the
// variants; matmul; softmax, reductions, elementwise; through the ops against the JS set) on the WebGPU backend,
// in Node through Dawn on SwiftShader, with the tiled attention kernels (the default).
//
// Tolerances of this path: those of the WebAssembly sets (float32 accumulation, online softmax in tiles: the
// float32 bounds of the large-logit cases). The elementwise ones are the CPU's: SwiftShader's exp, log and tanh
// meet them; a real GPU's builtins (WGSL allows a few ulp) may need looser ones there.
const WEBGPU: ConformanceTolerances = {
  forward: { atol: 2e-5, rtol: 2e-4 },
  gradient: { atol: 1e-4, rtol: 1e-3 },
  float32: true,
  softmax: { atol: 1e-6, rtol: 1e-5 },
  reduce: { atol: 1e-6, rtol: 1e-6 },
  binary: { atol: 1e-6, rtol: 1e-5 },
  unary: { atol: 1e-7, rtol: 1e-6 },
};

const target = deviceTarget(await testBackend(), WEBGPU, 'webgpu (SwiftShader)');

test('the browser page runs a subset of these cases (named, each once) with these tolerances', () => {
  const names = new Set(conformanceCases.map((c) => c.name));
  expect(BROWSER_CONFORMANCE_CASES.filter((name) => !names.has(name))).toEqual([]);
  expect(new Set(BROWSER_CONFORMANCE_CASES).size).toBe(BROWSER_CONFORMANCE_CASES.length);
  expect(WEBGPU_TOLERANCES).toEqual(WEBGPU);
});

for (const group of new Set(conformanceCases.map((c) => c.group))) {
  describe(`WebGPU: ${group}`, () => {
    for (const c of conformanceCases.filter((x) => x.group === group)) test(c.name, () => c.run(target));
  });
}
