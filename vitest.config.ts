import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60000,
    // Set-up hooks commit whole test trees through the CLI, which under a full parallel run on two
    // CPUs took longer than vitest's default of 10 s.
    hookTimeout: 60000,
    pool: 'forks',
  },
});
