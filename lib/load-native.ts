// Finding and loading the native addon, shared by the library (lib/binding.ts) and npm's install
// step (scripts/install.js). It is its own small loader rather than node-gyp-build because a
// failure must say everything at once: each file tried, the dynamic loader's own words for each
// (a missing libavcodec.so.59, another architecture, FFmpeg libraries of another major), and what
// to run to fix this case.
import fs from 'node:fs';
import path from 'node:path';
import { StreamcoderError } from './errors';

/** Where an addon file comes from. */
export type AddonKind = 'STREAMCODER_NATIVE' | 'source build' | 'prebuild';

export interface AddonCandidate {
  kind: AddonKind;
  file: string;
}

export interface LoadAttempt extends AddonCandidate {
  /** Why this file did not load: the loader's message, or that it does not exist. */
  error: string;
}

/** The package root: one level up from lib/ (tests) and from dist/ (published code). */
export const PACKAGE_ROOT = path.join(__dirname, '..');

/** The FFmpeg development packages a source build needs, and the tools, on Debian and Ubuntu. */
export const BUILD_PACKAGES = [
  'pkg-config', 'cmake', 'g++', 'make',
  'libavformat-dev', 'libavcodec-dev', 'libavutil-dev', 'libswscale-dev', 'libswresample-dev',
] as const;

/**
 * The prebuild's directory name for this machine: platform, architecture and, on Linux, the C
 * library (a glibc build does not load on musl, e.g. Alpine).
 */
export function prebuildTag(): string {
  const tag = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return tag;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return `${tag}-${header?.glibcVersionRuntime ? 'glibc' : 'musl'}`;
}

/**
 * The files to try, in order. `STREAMCODER_NATIVE` alone when it is set (the AddressSanitizer
 * build of `npm run test:asan`, or a debug build of your own; relative to the working
 * directory). Otherwise a source build first, since it exists only when someone built one on
 * purpose (`--build-from-source`, or the install step after the prebuild failed to load), then
 * the prebuild shipped in the package.
 */
export function addonCandidates(root = PACKAGE_ROOT, override = process.env.STREAMCODER_NATIVE): AddonCandidate[] {
  if (override) return [{ kind: 'STREAMCODER_NATIVE', file: path.resolve(override) }];
  return [
    { kind: 'source build', file: path.join(root, 'build', 'Release', 'streamcoder.node') },
    { kind: 'prebuild', file: path.join(root, 'prebuilds', prebuildTag(), 'streamcoder.node') },
  ];
}

export interface LoadedAddon<T> extends AddonCandidate {
  binding: T;
}

/** Loads the first candidate that loads; throws ERR_ADDON_LOAD naming every attempt otherwise. */
export function loadAddon<T>(candidates = addonCandidates()): LoadedAddon<T> {
  const attempts: LoadAttempt[] = [];
  for (const candidate of candidates) {
    if (!fs.existsSync(candidate.file)) {
      attempts.push({ ...candidate, error: candidate.kind === 'source build' ? 'not built' : 'no such file' });
      continue;
    }
    try {
      return { ...candidate, binding: require(candidate.file) as T };
    } catch (error) {
      attempts.push({ ...candidate, error: (error as Error).message });
    }
  }
  throw new AddonLoadError(attempts);
}

/** Nothing loaded: `attempts` says what was tried and why each failed. */
export class AddonLoadError extends StreamcoderError {
  constructor(readonly attempts: LoadAttempt[]) {
    super(describeLoadFailure(attempts), 'ERR_ADDON_LOAD');
  }
}

/** The message of an AddonLoadError: every attempt, then the remedies for this case. */
export function describeLoadFailure(attempts: LoadAttempt[]): string {
  const lines = ['streamcoder: the native addon could not be loaded. Tried:'];
  attempts.forEach((attempt, i) => {
    lines.push(`  ${i + 1}. ${attempt.kind}: ${attempt.file}`);
    for (const line of attempt.error.trim().split('\n')) lines.push(`     ${line}`);
  });
  lines.push('To fix it:');
  for (const remedy of remedies(attempts)) lines.push(`  - ${remedy}`);
  return lines.join('\n');
}

function remedies(attempts: LoadAttempt[]): string[] {
  const found: string[] = [];
  if (attempts.some((a) => a.kind === 'STREAMCODER_NATIVE')) {
    found.push('STREAMCODER_NATIVE is set: unset it to load the package\'s own addon, or point it at a file that loads.');
  }
  // "libavcodec.so.59: cannot open shared object file": the runtime libraries themselves are
  // missing. Debian names their packages after the soname (libavcodec.so.59 -> libavcodec59).
  const missing = new Set<string>();
  for (const attempt of attempts) {
    for (const match of attempt.error.matchAll(/\b(lib(?:av|sw|postproc)[a-z]*)\.so\.(\d+): cannot open shared object file/g)) {
      missing.add(`${match[1]}${match[2]}`);
    }
  }
  if (missing.size > 0) {
    found.push(`The FFmpeg libraries the prebuild links are missing. On Debian or Ubuntu:\n      sudo apt-get install -y ${[...missing].join(' ')}`);
  }
  found.push(
    'Build the addon from source against this machine\'s FFmpeg. Install the compiler, cmake, pkg-config and ' +
      `FFmpeg's development packages (Debian or Ubuntu):\n      sudo apt-get install -y ${BUILD_PACKAGES.join(' ')}\n` +
      '    then, in your project:\n      npm rebuild streamcoder --build-from-source',
  );
  return found;
}
