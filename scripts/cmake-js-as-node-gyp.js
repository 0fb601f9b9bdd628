#!/usr/bin/env node
// prebuildify knows one build tool: it runs `node-gyp rebuild --target=... --arch=... --release`
// in its working directory and moves build/Release/*.node from there into prebuilds/. This
// stands in for node-gyp (PREBUILD_NODE_GYP): it brings the project's own cmake-js build up to
// date (incrementally) and copies the addon into prebuildify's staging directory, so the move
// never takes the addon away from the project's build/ or from processes that have it loaded.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
if (args[0] !== 'rebuild') {
  console.error(`cmake-js-as-node-gyp: only "rebuild" is supported, got "${args[0]}"`);
  process.exit(2);
}
const arch = args.find((a) => a.startsWith('--arch='))?.slice('--arch='.length);
const result = spawnSync(path.join(root, 'node_modules', '.bin', 'cmake-js'), ['compile', ...(arch ? ['--arch', arch] : [])], {
  stdio: 'inherit',
  cwd: root,
});
if (result.status !== 0) process.exit(result.status ?? 1);
const staged = path.join(process.cwd(), 'build', 'Release');
fs.mkdirSync(staged, { recursive: true });
fs.copyFileSync(path.join(root, 'build', 'Release', 'streamcoder.node'), path.join(staged, 'streamcoder.node'));
