import { defineConfig } from 'vitest/config';

// The root runs the repository's own tools' tests (stage tooling, container harness, browser test).
// Each stage folder has its own vitest config and runs its own tests.
export default defineConfig({
  test: {
    include: ['tools/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
  },
});
