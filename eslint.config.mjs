// ESLint (flat config) for the browser code under static/js and its node --test
// unit tests under tests/js: `make lint-js`. Versions pinned in package.json.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['static/vendor/**', 'node_modules/**', 'data/**'] },
  js.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'no-unused-vars': ['error', { args: 'after-used', argsIgnorePattern: '^_' }],
      'prefer-const': 'error',
      'no-var': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['static/js/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['tests/js/**/*.{js,mjs}'],
    languageOptions: { globals: { ...globals.node } },
  },
];
