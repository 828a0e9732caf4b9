import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@heed/multi-head',
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
