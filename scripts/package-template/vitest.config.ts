import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@heed/NAME',
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
