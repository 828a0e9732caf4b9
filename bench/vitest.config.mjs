import { defineProject } from 'vitest/config';

// Only the bench's own quick checks (the ONNX writer, FLOP counts); the benchmark itself is `pnpm bench`.
export default defineProject({
  test: {
    name: '@heed/bench',
    environment: 'node',
    include: ['src/**/*.test.mjs'],
  },
});
