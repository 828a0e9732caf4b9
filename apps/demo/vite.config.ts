import { defineConfig } from 'vite';

// A static site: `vite build` writes dist/ (index.html, assets, models/*.json), served as plain files.
export default defineConfig({
  base: './',
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 1000 },
  preview: { host: '127.0.0.1', port: 4173 },
  server: { host: '127.0.0.1' },
});
