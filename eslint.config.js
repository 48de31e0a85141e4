// @ts-check
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const components = ['order-gateway', 'broker-adapter', 'ledger', 'reconciler', 'ops-console'];

/** Other components are reached only through their index.ts; their files and tables are theirs. */
function boundaryPatterns(component) {
  return components
    .filter((other) => other !== component)
    .map((other) => ({
      group: [`**/${other}/**`, `!**/${other}/index.ts`],
      message: `import ${other} only through ${other}/index.ts`,
    }));
}

// Pure domain files: no I/O libraries, and none of platform's pool, transactions, bus or migrations
// (platform/index.ts re-exports them, so it is out too); pure platform modules such as decimal.ts
// are imported by their own path. (STYLE.md: pure at the core.)
const pureFiles = ['**/*.machine.ts', '**/*.domain.ts', '**/*.rules.ts', '**/*.postings.ts', '**/*.matching.ts'];
const purity = {
  paths: ['pg', 'kafkajs', 'fastify'].map((name) => ({ name, message: 'domain logic stays pure: no I/O here' })),
  patterns: [
    {
      group: [
        '**/platform/index.ts',
        '**/platform/database*',
        '**/platform/throwaway-database*',
        '**/platform/migrations*',
        '**/platform/embedded-postgres*',
        '**/platform/bus/**',
        '**/platform/kafka/**',
      ],
      message: 'domain logic stays pure: no I/O here (import pure platform modules, e.g. platform/decimal.ts, by path)',
    },
  ],
};

/*
 * Flat config lets the last `no-restricted-imports` that matches a file replace the earlier ones, so
 * a pure file inside a component gets one rule with both lists: purity AND the component boundary.
 */
const importRules = [
  ...components.map((component) => ({
    files: [`${component}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: boundaryPatterns(component) }] },
  })),
  { files: pureFiles, rules: { 'no-restricted-imports': ['error', purity] } },
  ...components.map((component) => ({
    files: pureFiles.map((glob) => `${component}/${glob}`),
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: purity.paths, patterns: [...purity.patterns, ...boundaryPatterns(component)] },
      ],
    },
  })),
];

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
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.cjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
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
  ...importRules,
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      // vitest's asymmetric matchers (expect.any, expect.objectContaining) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  { files: ['*.js', '*.cjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } } },
);
