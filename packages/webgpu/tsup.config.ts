import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  // The declarations name WebGPU's types (GPUDevice, ...): they come from @webgpu/types (a dependency,
  // declarations only), which the bundled .d.ts must reference itself (the bundler drops the source's reference).
  dts: { banner: '/// <reference types="@webgpu/types" />' },
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
