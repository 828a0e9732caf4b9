import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@heed/demo',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
  },
});
