// Every JavaScript/TypeScript snippet in README.md, as written:
// - each parses on the Node that runs the tests (CI runs the oldest the package admits, see
//   `engines`), after TypeScript's type annotations are stripped and nothing else (target ESNext,
//   so syntax a newer Node needs, like `await using`, stays and fails here);
// - each type-checks in strict mode against the library, with the free names that the reference
//   snippets use (`dec`, `frame`, `url`...) declared with their real types, and the API imported
//   where a snippet does not import it itself;
// - the quick start and the pipeline() snippet run, with only the input file and the server URL
//   swapped for a fixture and a local nginx-rtmp, and what they pushed is counted by ffprobe.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as api from '../lib/index';
import { runChild } from './helpers/child';
import { fixture } from './helpers/fixtures';
import { settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';

const root = path.join(__dirname, '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-readme-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Snippet {
  /** README line of the first line of code. */
  line: number;
  code: string;
}

function snippets(): Snippet[] {
  const lines = fs.readFileSync(path.join(root, 'README.md'), 'utf8').split('\n');
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript|js|javascript|mjs)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    expect(end, `README.md:${i + 1}: unclosed code block`).toBeGreaterThan(i);
    found.push({ line: i + 2, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return found;
}

const SNIPPETS = snippets();
const API = JSON.stringify(path.join(root, 'lib', 'index'));

test('the README has the snippets this test reads', () => {
  expect(SNIPPETS.length).toBeGreaterThanOrEqual(7);
});

test.each(SNIPPETS.map((s) => [s.line, s] as const))('README.md:%i parses on this Node', async (_line, snippet) => {
  const { outputText, diagnostics } = ts.transpileModule(snippet.code, {
    compilerOptions: { target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: false },
    reportDiagnostics: true,
  });
  expect(diagnostics?.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')) ?? []).toEqual([]);
  const file = path.join(dir, `parse-${snippet.line}.mjs`);
  fs.writeFileSync(file, outputText);
  const result = await runChild(process.execPath, ['--check', file]);
  expect(result.stderr, `README.md:${snippet.line} on Node ${process.version}`).toBe('');
  expect(result.status).toBe(0);
});

test('the Node running this is one the package admits', () => {
  const engines = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node as string;
  const oldest = Number(/^>=\s*(\d+)/.exec(engines)?.[1]);
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(oldest);
});

// The free names of the reference snippets, as a reader would have them.
const GLOBALS = `
type Api = typeof import(${API});
declare global {
  const url: string;
  const dec: import(${API}).Decoder;
  const decoder: import(${API}).Decoder;
  const frame: import(${API}).Frame;
  const audioFrame: import(${API}).AudioFrame;
  const buffer: Uint8Array;
  const server: import(${API}).Server;
  const worker: import('node:worker_threads').Worker;
  const timeoutMs: number;
}
export type { Api };
`;

test('every snippet type-checks in strict mode against the library', async () => {
  const exported = Object.keys(api).filter((name) => name !== '__esModule' && name !== 'default');
  const files: string[] = [];
  const offsets = new Map<string, { line: number; prelude: number }>();
  for (const snippet of SNIPPETS) {
    const imports = /from 'streamcoder'/.test(snippet.code) ? '' : `import { ${exported.join(', ')} } from 'streamcoder';\n`;
    const file = path.join(dir, `check-${snippet.line}.ts`);
    fs.writeFileSync(file, `${imports}${snippet.code}\nexport {};\n`);
    files.push(file);
    offsets.set(path.basename(file), { line: snippet.line, prelude: imports ? 1 : 0 });
  }
  const globals = path.join(dir, 'globals.d.ts');
  fs.writeFileSync(globals, GLOBALS);
  const config = path.join(dir, 'tsconfig.json');
  fs.writeFileSync(config, JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable', 'DOM'],
      module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true, types: ['node'],
      typeRoots: [path.join(root, 'node_modules', '@types')],
      paths: { streamcoder: [path.join(root, 'lib', 'index.ts')] },
    },
    files: [globals, ...files],
  }));
  const result = await runChild(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', config], { timeout: 120_000 });
  // Errors as README lines: "README.md:172: error TS2345: ..."
  const errors = `${result.stdout}${result.stderr}`.split('\n').filter(Boolean).map((line) => {
    const at = /check-(\d+)\.ts\((\d+),\d+\): (.*)$/.exec(line);
    if (!at) return line;
    const { line: start, prelude } = offsets.get(`check-${at[1]}.ts`)!;
    return `README.md:${start + Number(at[2]) - 1 - prelude}: ${at[3]}`;
  });
  expect(errors).toEqual([]);
  expect(result.status).toBe(0);
});

describe('the snippets that push run', () => {
  let server: RtmpServer;
  beforeAll(async () => {
    server = await startRtmpServer();
    // `import 'streamcoder'` from the scripts below resolves to this repository, as installed.
    fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'streamcoder'));
  });
  afterAll(() => server?.stop());

  /**
   * Runs a snippet with the clip and the URLs (`rtmp://127.0.0.1/live/<name>`) swapped; returns
   * the frames the server recorded for each of `names`.
   */
  async function runPushingAll(start: RegExp, names: string[], run: string, printed?: string[]): Promise<number[]> {
    const snippet = SNIPPETS.find((s) => start.test(s.code));
    expect(snippet, `no README snippet matches ${start}`).toBeDefined();
    let code = snippet!.code.replaceAll("'clip.mp4'", JSON.stringify(fixture('h264-bframes.mp4')));
    // Each run records under names of its own: a second publish to a name would append to it.
    for (const name of names) code = code.replaceAll(`'rtmp://127.0.0.1/live/${name}'`, JSON.stringify(server.recordUrl(`${run}-${name}`)));
    expect(code).not.toContain("'rtmp://127.0.0.1/live/");
    const name = run;
    const { outputText } = ts.transpileModule(code, { compilerOptions: { target: ts.ScriptTarget.ESNext, module: ts.ModuleKind.ESNext } });
    const file = path.join(dir, `${name}.mjs`);
    fs.writeFileSync(file, outputText);
    const child = await runChild(process.execPath, [file], { cwd: dir, timeout: 60_000 });
    expect(child.status, `${child.stdout}${child.stderr}`).toBe(0);
    printed?.push(...child.stdout.trim().split('\n'));
    const counts: number[] = [];
    for (const output of names) {
      const recording = await settledFile(server.recordingOf(`${run}-${output}`));
      const count = execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', recording]);
      counts.push(Number(String(count).trim()));
    }
    return counts;
  }

  const runPushing = async (start: RegExp, run: string): Promise<number> => (await runPushingAll(start, ['cam'], run))[0];

  test('the quick start pushes every frame of the clip', async () => {
    expect(await runPushing(/Decoder\.open\('clip\.mp4'\);/, 'quickstart')).toBe(75);
  });

  test('the pipeline() snippet pushes every frame of the clip', async () => {
    expect(await runPushing(/const stats = await pipeline\(\{/, 'pipeline')).toBe(75);
  });

  test('the ladder snippet pushes every frame of the clip to each of its three outputs, or counts it dropped', async () => {
    const printed: string[] = [];
    const recorded = await runPushingAll(/const ladder = await pipeline\(\{/, ['hd', '720', '360'], 'ladder', printed);
    // What the snippet prints per output: url, state, frames, dropped, error code. With its
    // onSlow: 'drop' an output that falls 100 ms behind (three encoders on a machine busy with
    // other tests) skips frames, counted; on a quiet machine each gets all 75.
    // The url is the output's label (it holds spaces): the last four words are the rest.
    const reported = printed.slice(-3).map((line) => line.split(' ').slice(-4));
    expect(reported.map(([state]) => state)).toEqual(['done', 'done', 'done']);
    expect(reported.map(([, frames]) => Number(frames))).toEqual(recorded);
    for (const [, frames, dropped] of reported) expect(Number(frames) + Number(dropped)).toBe(75);
    expect(recorded.every((n) => n > 0)).toBe(true);
  });
});

test("Development's layout names every native file pair and folder, every lib file outside cli/ and service/, and nothing that is not there", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const layout = /^- Layout\.[\s\S]*?(?=^\S|^- )/m.exec(readme.slice(readme.indexOf('## Development')))?.[0] ?? '';
  expect(layout).toContain('`native/`');
  const named = new Set([...layout.matchAll(/`([a-z_.-]+\/?)`/g)].map((m) => m[1]));
  const native = path.join(root, 'native');
  const folders = fs.readdirSync(native).filter((name) => fs.statSync(path.join(native, name)).isDirectory());
  const pairs = folders.flatMap((folder) => fs.readdirSync(path.join(native, folder)).map((file) => file.replace(/\.(cc|h)$/, '')).map((name) => (name === 'ffmpeg' ? 'ffmpeg.h' : name)));
  expect(folders.filter((folder) => !named.has(`${folder}/`))).toEqual([]);
  expect([...new Set(pairs)].filter((name) => !named.has(name))).toEqual([]);
  const lib = path.join(root, 'lib');
  const libFiles = ['', 'writer', 'ring', 'pipeline'].flatMap((folder) => fs.readdirSync(path.join(lib, folder)).filter((file) => file.endsWith('.ts')));
  expect(libFiles.filter((file) => !named.has(file))).toEqual([]);
  // Each snake_case name is a native file there; each .ts name a lib file.
  expect([...named].filter((name) => /^[a-z]+_[a-z_]+$/.test(name) && !pairs.includes(name))).toEqual([]);
  const serviceFiles = ['service', 'service/cluster'].flatMap((folder) => fs.readdirSync(path.join(lib, folder)).filter((file) => file.endsWith('.ts')));
  expect([...named].filter((name) => name.endsWith('.ts') && !libFiles.includes(name) && !serviceFiles.includes(name) && name !== 'binding.d.ts')).toEqual([]);
});
