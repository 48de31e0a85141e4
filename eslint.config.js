// @ts-check
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const components = ['order-gateway', 'broker-adapter', 'ledger', 'reconciler', 'ops-console'];

/** Other components are reached only through their index.ts; their files and tables are theirs. */
const boundaryRules = components.map((component) => ({
  files: [`${component}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: components
          .filter((other) => other !== component)
          .map((other) => ({
            group: [`**/${other}/**`, `!**/${other}/index.ts`],
            message: `import ${other} only through ${other}/index.ts`,
          })),
      },
    ],
  },
}));

export default defineConfig(
  {
    ignores: [
      'node_modules/',
      '.cache/',
      '.data/',
      '.tmp/',
      'reports/',
      'bench-results/',
      'session-report/',
      'coverage/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Implementations of promise-returning interfaces are often synchronous inside.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.name='parseFloat']",
          message: 'money and quantities are decimals, never floats',
        },
      ],
    },
  },
  ...boundaryRules,
  {
    // Pure domain files: no I/O libraries. (STYLE.md: pure at the core.)
    files: ['**/*.machine.ts', '**/*.domain.ts', '**/*.rules.ts', '**/*.postings.ts', '**/*.matching.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['pg', 'kafkajs', 'fastify'].map((name) => ({
            name,
            message: 'domain logic stays pure: no I/O here',
          })),
          patterns: [
            { group: ['**/platform/database*', '**/platform/bus/**'], message: 'domain logic stays pure: no I/O here' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // vitest's asymmetric matchers (expect.any, expect.objectContaining) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  { files: ['*.js'], ...tseslint.configs.disableTypeChecked },
);
