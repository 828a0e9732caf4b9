import { afterAll, describe, expect, test } from 'vitest';
import { conformanceCases } from '../testing/conformance-cases';
import type { ConformanceTolerances } from '../testing/conformance-target';
import { kernelSetTarget } from '../testing/kernel-set-target';
import { jsKernelSet } from './js/kernel-set';
import { listKernelSets, registerKernelSet, resolveKernelSet, useKernelSet, type KernelSet } from './registry';
import { wasmKernelSet } from './wasm/kernel-set';
import { loadWasmKernels, releaseWasmKernels } from './wasm/load-wasm-kernels';

// One conformance suite for every registered kernel set: the plain TypeScript kernels, WebAssembly
// SIMD-128, relaxed SIMD (this project runs with --experimental-wasm-relaxed-simd, see vitest.config.ts)
// and SIMD-128 on 2 threads — each against naive float64 references, and, through the ops, against the JS
// set. The cases live in @heed/tensor/testing (conformance-cases.ts): the device suites (the host device
// backend here, WebGPU in @heed/webgpu) run the same list.

const simd = await loadWasmKernels({ relaxedSimd: false });
const relaxed = await loadWasmKernels({ relaxedSimd: true });
const threaded = await loadWasmKernels({ relaxedSimd: false, threads: 2 });
// Node runs WebAssembly SIMD, validates relaxed SIMD with the flag, and starts workers: a failure, never a skip.
if (!simd || !relaxed?.relaxedSimd || threaded?.pool?.size !== 2) throw new Error('a WebAssembly kernel build did not load');
const wasmSets = [
  wasmKernelSet(simd, 'wasm-simd'),
  wasmKernelSet(relaxed, 'wasm-relaxed-simd'),
  wasmKernelSet(threaded, 'wasm-simd-threads-2'),
];
for (const set of wasmSets) registerKernelSet(set);
const registered = new Map<string, KernelSet>([
  [jsKernelSet.name, jsKernelSet],
  ...wasmSets.map((set): [string, KernelSet] => [set.name, set]),
]);

afterAll(() => {
  useKernelSet('js');
  releaseWasmKernels(threaded);
});

/** Tolerances against the float64 references. The elementwise ones hold for any float32 kernel of a correctly rounded libm. */
const KERNELS = {
  softmax: { atol: 1e-6, rtol: 1e-5 },
  reduce: { atol: 1e-6, rtol: 1e-6 },
  binary: { atol: 1e-6, rtol: 1e-5 },
  unary: { atol: 1e-7, rtol: 1e-6 },
};
const JS: ConformanceTolerances = { forward: { atol: 1e-5, rtol: 1e-4 }, gradient: { atol: 1e-4, rtol: 1e-3 }, float32: false, ...KERNELS };
const WASM: ConformanceTolerances = {
  forward: { atol: 2e-5, rtol: 2e-4 },
  gradient: { atol: 1e-4, rtol: 1e-3 },
  float32: true,
  ...KERNELS,
};

const TARGETS = listKernelSets().map((name) => kernelSetTarget(name, resolveKernelSet(registered.get(name)!), name === 'js' ? JS : WASM));

test('every registered kernel set is under test: js, WebAssembly SIMD, relaxed SIMD, 2 threads', () => {
  expect(TARGETS.map((s) => s.name)).toEqual(['js', 'wasm-simd', 'wasm-relaxed-simd', 'wasm-simd-threads-2']);
});

test('the shared cases: 18 fused-attention, 15 kernel, 2 through the ops', () => {
  const count = (group: string) => conformanceCases.filter((c) => c.group.startsWith(group)).length;
  expect([count('fused attention'), count('matmul') + count('softmax'), count('through the ops')]).toEqual([18, 15, 2]);
});

const GROUPS = [...new Set(conformanceCases.map((c) => c.group))];

describe.each(TARGETS)('kernel set $name', (target) => {
  for (const group of GROUPS) {
    describe(group, () => {
      for (const c of conformanceCases.filter((x) => x.group === group)) test(c.name, () => c.run(target));
    });
  }
});
