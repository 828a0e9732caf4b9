import { defineProject } from 'vitest/config';
import { packageCoverage } from '../../vitest.coverage';

export default defineProject({
  test: {
    name: '@heed/onnx',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    // Each test exports a model and runs it in two ONNX Runtimes: seconds on a loaded 2-core machine.
    testTimeout: 60_000,
    coverage: packageCoverage({ lines: 98.1, branches: 91.2 }),
  },
});
