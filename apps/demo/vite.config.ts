import { defineConfig } from 'vite';

// A static site: `vite build` writes dist/ (index.html, assets, models/*.json), served as plain files.
// keepNames: heed's errors carry their class names (HeedError, ConfigError, …) as a brand that
// `isHeedError` and `instanceof` read; minified class names would break both.
export default defineConfig({
  base: './',
  worker: { format: 'es' },
  esbuild: { keepNames: true },
  build: { target: 'es2022', chunkSizeWarningLimit: 1000 },
  preview: { host: '127.0.0.1', port: 4173 },
  server: { host: '127.0.0.1' },
});
