import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@heed/scorers',
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
