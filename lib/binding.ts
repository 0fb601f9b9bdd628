import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import type { Binding } from '../binding';
import { StreamcoderError } from './errors';

// Prebuilds first (prebuilds/<platform>-<arch>), then build/Release: node-gyp-build decides.
// The package root is one level up from both lib/ (tests) and dist/ (published code).
//
// STREAMCODER_NATIVE=/path/to/streamcoder.node loads that file instead (relative paths from the
// working directory): the AddressSanitizer build that `npm run test:asan` runs, or a debug build
// of your own. Worker threads inherit the environment, so they load the same file. Unset or
// empty: the default above.
export const native: Binding = loadNative(process.env.STREAMCODER_NATIVE);

function loadNative(override: string | undefined): Binding {
  if (!override) return nodeGypBuild(path.join(__dirname, '..'));
  const file = path.resolve(override);
  try {
    return require(file);
  } catch (error) {
    throw new Error(`STREAMCODER_NATIVE=${override}: cannot load ${file}: ${(error as Error).message}`, { cause: error });
  }
}

// Each environment (main thread, every worker_thread) loads this module once and hands the error
// class to its own instance of the addon.
native.setErrorClass(StreamcoderError);
