#!/usr/bin/env node
// npm run prebuild [-- --out <dir>]: a stripped Node-API prebuild for this machine in
// <dir>/prebuilds/<tag>/streamcoder.node (default: the package root), where lib/load-native.ts
// looks for it. `npm pack` and `npm publish` run it (prepack), so the package carries it.
// Node-API version 8 (package.json "binary"), so one file serves every Node from 20 on.
// Built in build-prebuild/, a Release build of its own, so nothing a developer configured in
// build/ (a debug build, say) ends up in the package.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const outIndex = process.argv.indexOf('--out');
const out = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]) : root;
const { prebuildTag } = require(path.join(root, 'dist', 'load-native.js'));

const buildDir = path.join(root, 'build-prebuild');
execFileSync(path.join(root, 'node_modules', '.bin', 'cmake-js'), ['compile', '--out', buildDir, '--config', 'Release', '--log-level', 'warn'], {
  cwd: root,
  stdio: 'inherit',
});
const target = path.join(out, 'prebuilds', prebuildTag(), 'streamcoder.node');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.copyFileSync(path.join(buildDir, 'Release', 'streamcoder.node'), target);
// The symbols are for debugging our build, not for users: a quarter of the size.
execFileSync('strip', ['--strip-unneeded', target]);
console.log(`prebuild: ${target}`);
