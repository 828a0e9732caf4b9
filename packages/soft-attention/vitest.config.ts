import { defineProject } from 'vitest/config';
import { packageCoverage } from '../../vitest.coverage';

export default defineProject({
  test: {
    name: '@heed/soft-attention',
    environment: 'node',
    // Training and worker tests take seconds on a loaded 2-core machine; tests never assert timings.
    testTimeout: 60_000,
    include: ['src/**/*.test.ts'],
    coverage: packageCoverage({ lines: 98.1, branches: 93.3 }),
    // Type tests (`*.test-d.ts`, expectTypeOf) run through tsc alongside the runtime tests.
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.test-d.json' },
  },
});
