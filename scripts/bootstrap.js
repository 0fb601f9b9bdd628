#!/usr/bin/env node
// Brings a fresh Debian machine to the point where the tests and the demo run, doing only what is
// missing: Debian packages (FFmpeg's libraries and CLI, the build tools, the streaming servers
// the tests start), npm packages, the native addon, the TypeScript build. Safe to run any number
// of times. Uses nothing but Node's own modules, since it runs before `npm ci`.
'use strict';

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const quiet = process.argv.includes('--quiet');

// What each package is for: the FFmpeg development libraries the addon links, the ffmpeg CLI the
// tests use as an independent judge, the compiler toolchain, nginx-rtmp (RTMP server) and
// GStreamer's RTSP server (RTSP publish/play) for the streaming tests, valgrind for the memcheck
// test of the native code, the AddressSanitizer and UBSan runtimes for the ASan build
// (test/asan.test.ts, npm run test:asan; g++-12 depends on both, named here to say so), Chromium
// for the status page test of `streamcoder serve` (test/serve-page.test.ts, driven by puppeteer-core),
// etcd for the cluster tests of `serve --etcd` (test/cluster.test.ts starts its own members).
const APT_PACKAGES = [
  'pkg-config', 'cmake', 'g++', 'make',
  'libavformat-dev', 'libavcodec-dev', 'libavutil-dev', 'libswscale-dev', 'libswresample-dev',
  'ffmpeg',
  'nginx-light', 'libnginx-mod-rtmp',
  'python3-gi', 'gir1.2-gst-rtsp-server-1.0', 'gstreamer1.0-rtsp', 'gstreamer1.0-plugins-base',
  'gstreamer1.0-plugins-good', 'gstreamer1.0-plugins-bad', 'gstreamer1.0-plugins-ugly',
  'valgrind', 'libasan8', 'libubsan1',
  'chromium',
  'etcd-server',
];

function log(message) {
  if (!quiet) console.error(`[bootstrap] ${message}`);
}

function attempt(command, args, options = {}) {
  log(`${command} ${args.join(' ')}`);
  return spawnSync(command, args, { stdio: 'inherit', cwd: root, ...options }).status === 0;
}

function run(command, args, options = {}) {
  if (!attempt(command, args, options)) {
    console.error(`[bootstrap] failed: ${command} ${args.join(' ')}`);
    process.exit(1);
  }
}

function missingAptPackages() {
  return APT_PACKAGES.filter((name) => {
    try {
      const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', name], { stdio: ['ignore', 'pipe', 'ignore'] });
      return !String(status).includes('install ok installed');
    } catch {
      return true;
    }
  });
}

function ensureAptPackages() {
  const missing = missingAptPackages();
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y ${missing.join(' ')}`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    console.error(`[bootstrap] missing Debian packages: ${missing.join(' ')}\nRun as root:\n  ${command}`);
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', ...missing], { env });
}

function newestMtime(paths) {
  let newest = 0;
  for (const entry of paths) {
    const full = path.join(root, entry);
    if (!fs.existsSync(full)) continue;
    const stat = fs.statSync(full);
    if (stat.isDirectory()) {
      newest = Math.max(newest, newestMtime(fs.readdirSync(full).map((name) => path.join(entry, name))));
    } else {
      newest = Math.max(newest, stat.mtimeMs);
    }
  }
  return newest;
}

function mtime(file) {
  const full = path.join(root, file);
  return fs.existsSync(full) ? fs.statSync(full).mtimeMs : -1;
}

function ensureNpmPackages() {
  const marker = 'node_modules/.package-lock.json';
  if (mtime(marker) >= mtime('package-lock.json') && mtime(marker) >= mtime('package.json')) return;
  if (attempt('npm', ['ci', '--no-audit', '--no-fund'])) return;
  // Seen here: npm leaves other platforms' optional packages (rollup's native builds) out of the
  // lockfile when the registry it reaches has no copy of them, and `npm ci` then calls its own
  // lockfile out of sync. `npm install` installs the same locked versions without that check.
  log('npm ci refused the lockfile; installing the locked versions with npm install');
  run('npm', ['install', '--no-audit', '--no-fund', '--no-save']);
}

function ensureNativeBuild() {
  const sources = newestMtime(['native', 'CMakeLists.txt']);
  const addon = 'build/Release/streamcoder.node';
  if (mtime(addon) >= sources) return;
  run(path.join(root, 'node_modules/.bin/cmake-js'), ['compile', '--log-level', 'warn']);
}

function ensureTypeScriptBuild() {
  if (mtime('dist/index.js') >= newestMtime(['lib', 'tsconfig.json', 'binding.d.ts'])) return;
  run(path.join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json']);
}

ensureAptPackages();
ensureNpmPackages();
ensureNativeBuild();
ensureTypeScriptBuild();
log('ready');
