import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';
import { packageCoverage } from '../../vitest.coverage';

export default defineProject({
  resolve: {
    // The shared fixture helpers (../../fixtures) import '@heed/tensor'; inside this package that
    // must be the source under test (one Tensor class), not a dist that may not be built yet.
    alias: { '@heed/tensor': fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
  },
  test: {
    name: '@heed/tensor',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    // Type tests (`*.test-d.ts`, expectTypeOf) run through tsc alongside the runtime tests.
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.test-d.json' },
    coverage: packageCoverage({ lines: 98.2, branches: 93.4 }),
    // Worker-thread and large-L tests take seconds on a loaded 2-core CI machine.
    testTimeout: 60_000,
    // The conformance suite runs the relaxed-SIMD build too, which Node 20 validates only with this flag
    // (Node 22+ validates it by default and refuses the flag as a bad option).
    execArgv: Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : [],
  },
});
