import path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import type { Binding } from '../binding';
import { StreamcoderError } from './errors';

// Prebuilds first (prebuilds/<platform>-<arch>), then build/Release: node-gyp-build decides.
// The package root is one level up from both lib/ (tests) and dist/ (published code).
export const native: Binding = nodeGypBuild(path.join(__dirname, '..'));

// Each environment (main thread, every worker_thread) loads this module once and hands the error
// class to its own instance of the addon.
native.setErrorClass(StreamcoderError);
