import { defineConfig } from 'tsup';

export default defineConfig({
  // '@heed/tensor/testing': the shared test helpers (naive references, expectClose, expectThrows).
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
