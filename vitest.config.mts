// Test configuration (Node). Unit and integration tests live under test/; test/renderer covers the
// renderer's plain-TypeScript logic (src/renderer/src/lib: keymap rules, selection, the caption session);
// e2e runs through Playwright.
import { resolve } from 'node:path'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { alias: { '@shared': resolve(import.meta.dirname, 'src/shared') } },
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/engine/**/*.test.ts', 'test/renderer/**/*.test.ts', 'test/real/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' }
  }
})
