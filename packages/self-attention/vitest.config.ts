import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@heed/self-attention',
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
