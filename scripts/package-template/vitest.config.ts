import { defineProject } from 'vitest/config';
import { packageCoverage } from '../../vitest.coverage';

export default defineProject({
  test: {
    name: '@heed/NAME',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    coverage: packageCoverage({ lines: 98, branches: 94 }),
  },
});
