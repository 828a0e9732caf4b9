import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@heed/examples',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    // Compiling every README example with tsc and running each in its own Node process takes seconds
    // on a loaded 2-core machine.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
