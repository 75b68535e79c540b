import { defineConfig } from 'vitest/config';

// `npm run test:soak`: the long reliability runs (test/soak), never part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/soak/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    hookTimeout: 120_000,
    reporters: ['default'],
    env: { CASCADE_RTMP_PORT: '0' },
  },
});
