// vitest for `npm run test:asan` (scripts/test-asan.js): the project's configuration, with every
// test process started under the sanitizer runtime and loading the ASan addon. The environment
// goes to the forked test processes only (vitest passes test.env to them when it starts them),
// not to vitest's own process, which loads no addon; the tests' children (the ffmpeg CLI, node
// scripts that load the library) inherit it.
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../vitest.config';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const asan = require('../../scripts/test-asan.js');

export default mergeConfig(base, defineConfig({
  test: {
    env: asan.asanEnv(),
    poolOptions: { forks: { execArgv: asan.NODE_ARGS } },
    setupFiles: ['test/asan/setup.ts'],
    // Everything runs two to five times slower under ASan.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
}));
