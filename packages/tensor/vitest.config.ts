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
    // Type tests (`*.test-d.ts`, expectTypeOf) run through tsc alongside the runtime tests.
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.test-d.json' },
    // Worker-thread and large-L tests take seconds on a loaded 2-core CI machine.
    testTimeout: 60_000,
  },
});
