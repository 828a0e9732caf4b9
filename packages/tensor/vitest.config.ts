import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@heed/tensor',
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
