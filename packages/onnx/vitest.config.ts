import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: '@heed/onnx',
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
