// How the tests run node under valgrind: with libhwy's load-time CPU probe answered by a tiny
// preloaded library (see valgrind-cpu-probes.c for why), so that valgrind can load the addon on
// every machine of this kind, with or without RDTSCP.
import { preloadEnvironment } from './preload';

/** Builds the preload library into `dir` and gives the environment to run valgrind with. */
export function valgrindEnvironment(dir: string): Promise<NodeJS.ProcessEnv> {
  return preloadEnvironment('valgrind-cpu-probes', dir);
}
