// Lint (Node). [Note: process boundaries] Folder-based layering is a lint error: the renderer may import only
// src/shared and its own files; src/shared imports nothing from the hosts; the preload only electron + shared.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import svelte from 'eslint-plugin-svelte'
import globals from 'globals'

const noHostImports = (group) => ['error', { patterns: [{ group, message: 'crosses a process boundary (see eslint.config.mjs)' }] }]

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
    files: ['tools/**/*.js', 'bin/**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  }
)
