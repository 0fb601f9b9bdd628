#!/usr/bin/env node
// npm run prebuild [-- --out <dir>]: a stripped Node-API prebuild for this platform in
// <dir>/prebuilds/<platform>-<arch>/ (default: the package root), the layout node-gyp-build loads
// before any local build. prebuildify drives it from a staging directory; cmake-js builds it.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]) : root;

const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-prebuild-'));
try {
  fs.copyFileSync(path.join(root, 'package.json'), path.join(stage, 'package.json'));
  const result = spawnSync(path.join(root, 'node_modules', '.bin', 'prebuildify'), ['--napi', '--strip', '--cwd', stage, '--out', out], {
    stdio: 'inherit',
    env: { ...process.env, PREBUILD_NODE_GYP: path.join(__dirname, 'cmake-js-as-node-gyp.js') },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  console.log(`prebuild: ${path.join(out, 'prebuilds', `${process.platform}-${process.arch}`)}`);
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
