// The loaded native addon, once per process: the source build, the prebuild or STREAMCODER_NATIVE.
import type { Binding } from '../binding';
import { loadAddon, type AddonCandidate } from './load-native';
import { StreamcoderError } from './errors';

// The source build, else the package's prebuild, else STREAMCODER_NATIVE alone when it is set:
// lib/load-native.ts. Worker threads inherit the environment, so they load the same file.
const loaded = loadAddon<Binding>();

/** @internal The native module (binding.d.ts). */
export const native: Binding = loaded.binding;

/** @internal Which file `native` came from. */
export const addon: AddonCandidate = { kind: loaded.kind, file: loaded.file };

// Each environment (main thread, every worker_thread) loads this module once and hands the error
// class to its own instance of the addon.
native.setErrorClass(StreamcoderError);
