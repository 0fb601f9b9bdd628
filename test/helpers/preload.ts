// Small C libraries the tests preload into node (LD_PRELOAD) to watch or stand in for what the
// loader and libc do, never built into the package.
import path from 'node:path';
import { runChild } from './child';

/** Builds `test/helpers/<name>.c` into `dir` and gives an environment that preloads it. */
export async function preloadEnvironment(name: string, dir: string, env: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  const source = path.join(__dirname, `${name}.c`);
  const library = path.join(dir, `${name}.so`);
  const build = await runChild('cc', ['-shared', '-fPIC', '-O2', '-o', library, source, '-ldl'], { timeout: 60_000 });
  if (build.status !== 0) throw new Error(`cannot build ${library}: ${build.stderr}`);
  const preload = [library, env.LD_PRELOAD].filter(Boolean).join(':');
  return { ...env, LD_PRELOAD: preload };
}
