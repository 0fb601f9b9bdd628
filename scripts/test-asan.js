#!/usr/bin/env node
// `npm run test:asan`: the tests against an AddressSanitizer + UBSan build of the addon. Builds build-asan/ (CMakeLists.txt, STREAMCODER_SANITIZE=address) when it is missing or
// older than its sources, then runs vitest with test/asan/vitest.config.ts, which hands the test
// processes the runtime and the options below and points lib/binding.ts at the ASan addon
// (STREAMCODER_NATIVE).
//
//   node scripts/test-asan.js                  every test file but NOT_UNDER_ASAN (below)
//   node scripts/test-asan.js --core           the native-heavy subset npm test also runs (CORE)
//   node scripts/test-asan.js test/ring.test.ts [more files or vitest arguments]
//   node scripts/test-asan.js --build-only     just bring build-asan/ up to date
//   --jobs N                                   compiler processes for the build (default: ninja's)
//
// Also a module: test/asan.test.ts takes the build, the environment and the file list from here.
'use strict';

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const OUT = 'build-asan';
const ADDON = path.join(root, OUT, 'Release', 'streamcoder.node');
const CANARY = path.join(root, OUT, 'Release', 'asan_canary.node');
const CONFIG = 'test/asan/vitest.config.ts';

// `npm run test:asan` runs every test file but these, which cannot run in an ASan process:
const NOT_UNDER_ASAN = {
  // valgrind cannot run a process whose malloc ASan has replaced (nor would it add anything).
  'test/memcheck.test.ts': 'valgrind',
  // Builds and loads the ordinary prebuild: packaging, not memory.
  'test/package.test.ts': 'packaging',
  // Starts ASan runs of its own.
  'test/asan.test.ts': 'itself',
};

// Tests that run everywhere but under ASan, by name (vitest -t, negated), and why.
const SKIP_UNDER_ASAN = [
  // The fuzz harness's self-test crashes children on purpose and expects SIGSEGV; under ASan
  // the same crash arrives as ASan's report and SIGABRT. Nothing of the addon runs in it.
  ['the harness pins crashes, hangs, memory and foreign errors', 'test/fuzz.test.ts: deliberate crashes, signal-exact'],
  // Bounds on time and memory that hold for the ordinary build, not for one two to five times
  // slower whose shadow memory and quarantine of freed blocks add to RSS (seen: 216 MB against
  // 200; pacing 0.125 s late against 0.1; the CLI pushing at 0.72x real time against 0.8). The
  // code they drive runs under ASan in the other tests of the same files.
  ['a source past the default bound is refused at open, before anything large is allocated', 'test/limits.test.ts: RSS bound'],
  ['the same file with maxPixels at the largest picture an application expects is refused at open, cheaply', 'test/limits.test.ts: RSS bound (seen: 452 MB against 300)'],
  // The same for a leak check by RSS: ASan holds freed blocks in its quarantine, so RSS keeps
  // growing long after the ordinary build's is flat (seen: 46 MiB in the measured phase). Leaks
  // are valgrind's job (test/memcheck.test.ts).
  ['500 open/close cycles and thousands of frames leave RSS flat', 'test/decoder-errors.test.ts: RSS bound'],
  ['serveFrameBlock keeps real time from the first frame', 'test/server.test.ts: real-time pacing'],
  ['push: every frame arrives (nginx recording, ffprobe)', 'test/cli.test.ts: push speed'],
];

/** vitest's arguments for an ASan run of `files` (the config, and the tests skipped by name). */
function vitestArgs(files) {
  const escaped = SKIP_UNDER_ASAN.map(([name]) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return ['run', '--config', CONFIG, '--testNamePattern', `^(?!.*(${escaped.join('|')}))`, ...files];
}

// The subset that `npm test` also runs under ASan (test/asan.test.ts): the files that drive the
// native code hardest and take seconds, not minutes, under ASan (the size sweeps take minutes:
// test:asan only). Patterns: a fuzz-*.test.ts joins by its name. Issue 11's sound and copy:
// decoder-audio (the input side: audio decoders, libswresample, the item queues, copy),
// timeline (the output side's Timeline and MediaWriter) and audio-output (AudioEncoder, its
// FIFO, StreamCopy and its bitstream filter, nginx-rtmp); audio-encoder (the same AudioEncoder
// on its own, fed from JS buffers, its packets copied into several outputs). Issue 13: scale (a
// writer scaling Frames of any size and format, swept at memory's end and between guard bytes).
// Issue 22: queues (items read ahead in batches, an Encoder's write queue and its refusals).
const CORE = [
  /^decoder\.test\.ts$/, /^decoder-errors\.test\.ts$/, /^encoder\.test\.ts$/, /^ring\.test\.ts$/,
  /^async-buffers\.test\.ts$/, /^hostile-input\.test\.ts$/, /fuzz/,
  /^decoder-audio\.test\.ts$/, /^timeline\.test\.ts$/, /^audio-output\.test\.ts$/, /^audio-encoder\.test\.ts$/,
  /^scale\.test\.ts$/, /^confinement\.test\.ts$/, /^queues\.test\.ts$/, /^pipeline-engines\.test\.ts$/,
];

function testFiles() {
  return fs.readdirSync(path.join(root, 'test')).filter((name) => name.endsWith('.test.ts')).sort().map((name) => `test/${name}`);
}

/** Every test file that runs under ASan. */
function asanTests() {
  return testFiles().filter((file) => !(file in NOT_UNDER_ASAN));
}

/** The native-heavy subset (see CORE). */
function coreTests() {
  return asanTests().filter((file) => CORE.some((pattern) => pattern.test(path.basename(file))));
}

// The sanitizer runtimes, which must be loaded before anything else in the process: node is not
// built with ASan, so its malloc/free/memcpy... are replaced only if libasan comes first
// (otherwise ASan refuses to start: "ASan runtime does not come first in initial library list").
// libubsan goes in too, so that the order is fixed rather than left to the addon's dlopen.
function runtimeLibraries() {
  return ['libasan.so', 'libubsan.so'].map((name) => {
    const file = String(execFileSync('gcc', [`-print-file-name=${name}`])).trim();
    if (!path.isAbsolute(file) || !fs.existsSync(file)) {
      throw new Error(`gcc does not know ${name} (Debian: libasan8 and libubsan1, which g++ depends on)`);
    }
    return file;
  });
}

const ASAN_OPTIONS = [
  // LeakSanitizer would report at exit what V8 and Node never free (hundreds of blocks of V8's
  // heap bookkeeping when a script ends with process.exit()), and every stack passes through
  // node, so no suppression can tell those from ours. Leaks are valgrind's job here
  // (test/memcheck.test.ts, with a reviewed suppressions file).
  'detect_leaks=0',
  // Keep ASan's SIGSEGV/SIGBUS handler when V8 installs its own for WebAssembly bounds traps.
  // V8's handler passes a fault outside wasm code to the default action: a bare "Segmentation
  // fault" (exit 139) with no report, where ASan names the access (read or write), the module
  // and the stack, e.g. swscale writing past a picture that ends at a guard page. The price:
  // wasm code must not rely on traps, so the test processes run node with
  // --wasm-enforce-bounds-checks (test/asan/vitest.config.ts).
  'handle_segv=1',
  'allow_user_segv_handler=0',
  // A report ends the process with SIGABRT, which no test and no vitest worker mistakes for an
  // ordinary failure (exit code 1). No core file: disable_coredump stays at its default (on).
  'abort_on_error=1',
  // (allocator_may_return_null stays off: a request past ASan's maximum, such as a size
  // computation that overflowed, is reported rather than answered with NULL. No test asks for
  // that much on purpose: the fuzz and limits tests pass either way.)
  // The report's stack by the unwind tables, not frame pointers: Debian's FFmpeg has none, and
  // the fast unwinder stopped at libavutil's memcpy caller (seen: a stack of two frames, where
  // this gives the addon's function and line). swscale's hand-written SIMD has no unwind tables
  // either: a fault there shows one frame whatever this says.
  'fast_unwind_on_fatal=0',
  // Reports on a std::vector's size, not only its capacity (_GLIBCXX_SANITIZE_VECTOR, CMakeLists).
  'detect_container_overflow=1',
  // A pointer to a local used after its function returned (GCC 12 compiles the check in; it is
  // off unless asked for).
  'detect_stack_use_after_return=1',
  // String functions check that their arguments are NUL-terminated, not only the bytes they read.
  'strict_string_checks=1',
  // A static initialiser that uses another file's global before that one is constructed.
  'check_initialization_order=1',
].join(':');

// The build uses -fno-sanitize-recover, so UB always ends the process; these make the report
// carry a stack and end with the same SIGABRT as ASan's.
const UBSAN_OPTIONS = 'print_stacktrace=1:halt_on_error=1:abort_on_error=1';

/**
 * The environment of a process that loads the ASan addon (and of its children).
 * STREAMCODER_ASAN_ADDON names another ASan build to test instead of build-asan/'s, such as one
 * of an older commit (does this run catch the bug it had?). ASAN_OPTIONS and UBSAN_OPTIONS of the
 * caller's environment are appended to ours (the last setting wins), e.g. log_path=/tmp/asan to
 * keep whole reports where a test keeps only the tail of a child's stderr.
 */
function asanEnv() {
  return {
    LD_PRELOAD: runtimeLibraries().join(':'),
    ASAN_OPTIONS: [ASAN_OPTIONS, process.env.ASAN_OPTIONS].filter(Boolean).join(':'),
    UBSAN_OPTIONS: [UBSAN_OPTIONS, process.env.UBSAN_OPTIONS].filter(Boolean).join(':'),
    STREAMCODER_NATIVE: process.env.STREAMCODER_ASAN_ADDON ? path.resolve(process.env.STREAMCODER_ASAN_ADDON) : ADDON,
  };
}

/** node's own arguments for such a process (see allow_user_segv_handler above). */
const NODE_ARGS = ['--wasm-enforce-bounds-checks'];

function newestMtime(entries) {
  let newest = 0;
  for (const entry of entries) {
    const full = path.join(root, entry);
    if (!fs.existsSync(full)) continue;
    const stat = fs.statSync(full);
    if (stat.isDirectory()) newest = Math.max(newest, newestMtime(fs.readdirSync(full).map((name) => path.join(entry, name))));
    else newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

// Written after each successful build: ninja leaves a target untouched when nothing of its own
// changed, so the outputs' times alone would call the build stale forever.
const STAMP = path.join(root, OUT, 'built.stamp');

function upToDate() {
  if (![ADDON, CANARY, STAMP].every((file) => fs.existsSync(file))) return false;
  return fs.statSync(STAMP).mtimeMs >= newestMtime(['native', 'CMakeLists.txt', 'test/asan/canary.cc']);
}

/**
 * Brings build-asan/ up to date, idempotently (ninja rebuilds only what changed). Runs cmake-js
 * under the build lock every build of this checkout takes (flock, util-linux), so it never runs
 * beside another cmake-js. `jobs`: compiler processes (default: ninja's, cores + 2); the test
 * inside `npm test` uses one, to leave the other core to the tests running beside it. Returns
 * whether it built.
 */
function ensureAsanBuild({ quiet = false, jobs = 0 } = {}) {
  if (upToDate()) return false;
  const cmakeJs = path.join(root, 'node_modules', '.bin', 'cmake-js');
  const args = ['compile', '--out', OUT, '--CDSTREAMCODER_SANITIZE=address', '--log-level', 'warn', ...(jobs > 0 ? ['--parallel', String(jobs)] : [])];
  const haveFlock = spawnSync('flock', ['--version'], { stdio: 'ignore' }).status === 0;
  const [command, commandArgs] = haveFlock ? ['flock', ['/tmp/streamcoder-build.lock', cmakeJs, ...args]] : [cmakeJs, args];
  if (!quiet) console.error(`[test-asan] ${command} ${commandArgs.join(' ')}`);
  const begun = new Date();
  const run = spawnSync(command, commandArgs, { cwd: root, stdio: quiet ? 'pipe' : 'inherit', encoding: 'utf8' });
  // Stamped with the time the build began.
  if (run.status === 0) {
    fs.writeFileSync(STAMP, `${begun.toISOString()}\n`);
    fs.utimesSync(STAMP, begun, begun);
  }
  // A source saved while it built is newer than the stamp: the next run builds again.
  if (run.status !== 0 || ![ADDON, CANARY].every((file) => fs.existsSync(file))) {
    throw new Error(`the ASan build failed (exit ${run.status})${quiet ? `\n${run.stdout}\n${run.stderr}` : ''}`);
  }
  return true;
}

function main(argv) {
  const started = Date.now();
  const jobsAt = argv.indexOf('--jobs');
  const jobs = jobsAt >= 0 ? Number(argv[jobsAt + 1]) : 0;
  const args = jobsAt >= 0 ? argv.filter((_, i) => i !== jobsAt && i !== jobsAt + 1) : argv;
  const built = ensureAsanBuild({ jobs });
  console.error(`[test-asan] ${OUT}/ ${built ? `built in ${((Date.now() - started) / 1000).toFixed(1)} s` : 'up to date'}`);
  if (args.includes('--build-only')) return 0;
  const core = args.includes('--core');
  const rest = args.filter((arg) => arg !== '--core');
  const files = core ? coreTests() : rest.some((arg) => !arg.startsWith('-')) ? [] : asanTests();
  const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const run = spawnSync(process.execPath, [vitest, ...vitestArgs(files), ...rest], { cwd: root, stdio: 'inherit' });
  console.error(`[test-asan] ${((Date.now() - started) / 1000).toFixed(1)} s in all (exit ${run.status ?? run.signal})`);
  return run.status ?? 1;
}

module.exports = { ASAN_OPTIONS, UBSAN_OPTIONS, NODE_ARGS, ADDON, CANARY, CONFIG, asanEnv, ensureAsanBuild, asanTests, coreTests, vitestArgs };

if (require.main === module) process.exit(main(process.argv.slice(2)));
