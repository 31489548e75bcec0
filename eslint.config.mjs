// Lint (Node). [Note: process boundaries] Folder-based layering is a lint error: the renderer may import only
// src/shared and its own files; src/shared imports nothing from the hosts; the preload only electron + shared.
// [Note: engine fences] Inside src/main the folder of an engine file says which process it runs in:
// engine/client (host side), engine/worker and engine/pipeline (the engine worker thread; they load
// onnxruntime-node and sharp-to-tensor code), engine/packs, engine/text and engine/math (process-free: pure
// functions and file formats any process may use). Host code (everything else in src/main) may import the
// client and the process-free folders, and *types* from anywhere; values from the worker side only in the
// in-process tools that ask for it (src/main/eval, the CLI's eval/bench commands, loaded lazily).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import svelte from 'eslint-plugin-svelte'
import globals from 'globals'

const noHostImports = (group) => ['error', { patterns: [{ group, message: 'crosses a process boundary (see eslint.config.mjs)' }] }]
// Type-only imports erase at build time, so they may cross the engine fence.
const engineFence = (group) => ['error', { patterns: [{ group, allowTypeImports: true, message: 'crosses the engine fence: host code reaches the worker side only through engine/client (see [Note: engine fences])' }] }]
const WORKER_SIDE = ['**/engine/worker', '**/engine/worker/**', '**/engine/pipeline', '**/engine/pipeline/**', 'onnxruntime-node']
// The same folders as seen from a sibling inside src/main/engine ('../worker/engine').
const WORKER_SIBLINGS = ['../worker', '../worker/**', '../pipeline', '../pipeline/**', 'onnxruntime-node']

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'test-results/**', 'tools/modelkit/**', 'models/**', '.cache/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off'
    }
  },
  {
    files: ['src/renderer/**/*.ts', 'src/renderer/**/*.svelte'],
    languageOptions: { globals: { ...globals.browser }, parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
    rules: { 'no-restricted-imports': noHostImports(['**/main/**', '**/preload/**', 'electron', 'node:*', 'better-sqlite3', 'onnxruntime-node', 'sharp']) }
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: { 'no-restricted-imports': noHostImports(['**/main/**', '**/preload/**', '**/renderer/**', 'electron', 'node:*']) }
  },
  {
    files: ['src/preload/**/*.ts'],
    rules: { 'no-restricted-imports': noHostImports(['**/main/**', '**/renderer/**', 'node:*']) }
  },
  {
    files: ['src/main/**/*.ts'],
    ignores: ['src/main/electron/**'],
    rules: { 'no-restricted-imports': noHostImports(['electron', '**/renderer/**']) }
  },
  {
    // [Note: engine fences] host code, the engine client and the process-free engine folders
    files: ['src/main/**/*.ts'],
    ignores: ['src/main/engine/worker/**', 'src/main/engine/pipeline/**', 'src/main/eval/**', 'src/main/cli/commands/eval.ts', 'src/main/cli/commands/eval-demo.ts', 'src/main/cli/commands/bench.ts', 'src/main/electron/**'],
    rules: { 'no-restricted-imports': 'off', '@typescript-eslint/no-restricted-imports': engineFence([...WORKER_SIDE, 'electron', '**/renderer/**']) }
  },
  {
    files: ['src/main/electron/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': engineFence(WORKER_SIDE) }
  },
  {
    files: ['src/main/engine/client/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': engineFence([...WORKER_SIBLINGS, 'sharp', 'electron']) }
  },
  {
    // the process-free engine folders depend on nothing but each other (and shared)
    files: ['src/main/engine/packs/**/*.ts', 'src/main/engine/text/**/*.ts', 'src/main/engine/math/**/*.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': engineFence([...WORKER_SIBLINGS, '../client', '../client/**', '../../services/**', '../../store/**', 'sharp', 'better-sqlite3', 'electron']) }
  },
  {
    files: ['tools/**/*.js', 'bin/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  }
)
