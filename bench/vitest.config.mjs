import { defineProject } from 'vitest/config';

// Only the bench's own quick checks (the ONNX writer, FLOP counts); the benchmark itself is `pnpm bench`.
export default defineProject({
  test: {
    name: '@heed/bench',
    environment: 'node',
    // Training and worker tests take seconds on a loaded 2-core machine; tests never assert timings.
    testTimeout: 60_000,
    include: ['src/**/*.test.mjs'],
  },
});
