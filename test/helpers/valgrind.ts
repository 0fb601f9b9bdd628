// How the tests run node under valgrind: with libhwy's load-time CPU probe answered by a tiny
// preloaded library (see valgrind-cpu-probes.c for why), so that valgrind can load the addon on
// every machine of this kind, with or without RDTSCP.
import path from 'node:path';
import { runChild } from './child';

const PROBES_SOURCE = path.join(__dirname, 'valgrind-cpu-probes.c');

/** Builds the preload library into `dir` and gives the environment to run valgrind with. */
export async function valgrindEnvironment(dir: string): Promise<NodeJS.ProcessEnv> {
  const library = path.join(dir, 'valgrind-cpu-probes.so');
  const build = await runChild('cc', ['-shared', '-fPIC', '-O2', '-o', library, PROBES_SOURCE], { timeout: 60_000 });
  if (build.status !== 0) throw new Error(`cannot build ${library}: ${build.stderr}`);
  const preload = [library, process.env.LD_PRELOAD].filter(Boolean).join(':');
  return { ...process.env, LD_PRELOAD: preload };
}
