import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@heed/self-attention',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    // Type tests (`*.test-d.ts`, expectTypeOf) run through tsc alongside the runtime tests.
    typecheck: { enabled: true, include: ['src/**/*.test-d.ts'], tsconfig: './tsconfig.test-d.json' },
  },
});
