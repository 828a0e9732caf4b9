import { defineConfig } from 'vitest/config';

// Root config: `pnpm exec vitest run` from the repository root runs every package as a project.
// Each package has its own vitest.config.ts (defineProject), which `vitest run` inside the package uses.
// Sibling packages are imported through their built `dist`, so build first (`pnpm build`);
// `pnpm test` (turbo) does that for you.
export default defineConfig({
  test: {
    projects: ['packages/*'],
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['**/*.test.ts'],
    },
  },
});
