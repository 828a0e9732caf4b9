import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';

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
    // Worker-thread and large-L tests take seconds on a loaded 2-core CI machine.
    testTimeout: 60_000,
    // The conformance suite runs the relaxed-SIMD build too, which Node 20 validates only with this flag.
    execArgv: ['--experimental-wasm-relaxed-simd'],
  },
});
