import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // test/soak runs only through `npm run test:soak` (vitest.soak.config.ts).
    include: ['test/{unit,integration,e2e}/**/*.test.ts'],
    pool: 'forks',
    // ffmpeg uses both cores: run test files one at a time, so encodes never compete with players.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // Servers started by tests (and their children) take a free RTMP port, not 1935.
    env: { CASCADE_RTMP_PORT: '0' },
  },
});
