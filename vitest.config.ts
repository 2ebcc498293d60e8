import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  // Modules that import the package by name (examples/, as a user's code would) get the sources,
  // like everything else under vitest; tsconfig.json's `paths` say the same to tsc and tsx.
  resolve: {
    alias: [
      { find: /^pagerace$/, replacement: src('./lib/index.ts') },
      { find: /^pagerace\/vitest$/, replacement: src('./lib/vitest.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ (incremental) before any test: the CLI tests run bin/pagerace.js, which runs the build.
    globalSetup: ['test/globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
