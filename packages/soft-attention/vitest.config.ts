import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@heed/soft-attention',
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
