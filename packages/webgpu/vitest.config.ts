import { defineProject } from 'vitest/config';
import { packageCoverage } from '../../vitest.coverage';

export default defineProject({
  test: {
    name: '@heed/webgpu',
    environment: 'node',
    include: ['src/**/*.test.ts'],
    // WebGPU on SwiftShader (a software Vulkan driver): see test/software-adapter.ts.
    globalSetup: ['test/software-adapter.ts'],
    coverage: packageCoverage({ lines: 95, branches: 85 }),
    // Shader compilation and software rasterisation take seconds on a loaded 2-core CI machine.
    testTimeout: 60_000,
  },
});
