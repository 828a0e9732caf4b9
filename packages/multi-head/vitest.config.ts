import { defineProject } from 'vitest/config';
import { packageCoverage } from '../../vitest.coverage';

export default defineProject({
  test: {
    name: '@heed/multi-head',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    coverage: packageCoverage({ lines: 99.5, branches: 95.7 }),
    // Type tests (`*.test-d.ts`, expectTypeOf) run through tsc alongside the runtime tests.
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.test-d.json' },
    // The training and WebAssembly-vs-JS tests take 6-18 s on a loaded 2-core machine while tsc type-checks beside them.
    testTimeout: 60_000,
  },
});
