#!/usr/bin/env node
// npm's install step for streamcoder: keep the prebuild the package ships when it loads on this
// machine; otherwise (or with --build-from-source) build the addon from source with cmake-js
// against the FFmpeg that pkg-config finds. When neither works, the install fails with one message
// that lists each attempt and the fix. Installing with scripts blocked (--ignore-scripts, pnpm's
// default) skips all of this and uses the prebuild, which is what loads on a matching machine.
//
// Loading is tried in a child process: a library that crashes while loading must fail the check,
// not the install.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const loader = path.join(root, 'dist', 'load-native.js');

function log(message) {
  console.error(`streamcoder: ${message}`);
}

// `npm install --build-from-source` reaches us as npm_config_build_from_source=true, and
// prebuild-install's package list (--build-from-source=streamcoder,sharp) is honoured too. npm 11
// warns that it will stop passing unknown flags on, so STREAMCODER_BUILD_FROM_SOURCE=1 says the
// same in a way no npm version drops.
function buildFromSourceRequested(env) {
  if (['1', 'true'].includes(env.STREAMCODER_BUILD_FROM_SOURCE ?? '')) return true;
  const value = env.npm_config_build_from_source;
  if (!value || value === 'false') return false;
  return value === 'true' || value.split(',').map((name) => name.trim()).includes('streamcoder');
}

/** { ok, kind, file, ffmpeg } or { ok: false, attempts, message }. */
function probe() {
  const script = `
    const { loadAddon } = require(${JSON.stringify(loader)});
    try {
      const { kind, file, binding } = loadAddon();
      console.log(JSON.stringify({ ok: true, kind, file, ffmpeg: binding.versions().ffmpeg }));
    } catch (error) {
      console.log(JSON.stringify({ ok: false, attempts: error.attempts, message: error.message }));
    }`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, STREAMCODER_NATIVE: '' } });
  try {
    return JSON.parse(result.stdout);
  } catch {
    const how = result.signal ? `crashed with ${result.signal}` : `exited with ${result.status}`;
    return { ok: false, message: `loading the addon ${how}: ${result.stderr.trim()}` };
  }
}

/** Runs cmake-js; null on success, else why it failed (the tail of its output). */
function buildFromSource() {
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  } catch {
    return 'cmake-js is not installed (it is one of streamcoder\'s dependencies: was the install pruned?)';
  }
  const result = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn'], { cwd: root, encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`;
  process.stderr.write(output);
  if (result.status === 0) return null;
  const tail = output.trim().split('\n').slice(-12).join('\n');
  return `cmake-js compile failed (${result.signal ?? `exit ${result.status}`}):\n${tail}`;
}

function main() {
  if (!fs.existsSync(loader)) {
    // A git checkout before its first build; `npm run build` (or scripts/bootstrap.js) makes both.
    log('dist/ is not built yet (a source checkout?): nothing to check; run npm run build');
    return 0;
  }
  const forced = buildFromSourceRequested(process.env);
  if (!forced) {
    const found = probe();
    if (found.ok) {
      log(`using the ${found.kind} ${path.relative(root, found.file)} (FFmpeg ${found.ffmpeg})`);
      return 0;
    }
    log('the prebuild does not load here; building from source');
  } else {
    log('--build-from-source: building the addon with cmake-js');
  }
  const buildError = buildFromSource();
  const after = probe();
  if (after.ok && after.kind === 'source build') {
    log(`built from source: ${path.relative(root, after.file)} (FFmpeg ${after.ffmpeg})`);
    return 0;
  }
  if (after.ok) {
    // --build-from-source was asked for and failed; the prebuild would load, but that is not
    // what was asked.
    console.error(`streamcoder: --build-from-source failed: ${buildError ?? 'the source build does not load'}`);
    return 1;
  }
  const { describeLoadFailure } = require(loader);
  const attempts = (after.attempts ?? []).map((attempt) =>
    attempt.kind === 'source build' && buildError ? { ...attempt, error: buildError } : attempt,
  );
  console.error(attempts.length > 0 ? describeLoadFailure(attempts) : after.message);
  return 1;
}

process.exitCode = main();
