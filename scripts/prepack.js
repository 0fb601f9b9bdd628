#!/usr/bin/env node
// npm pack / npm publish: the package from a clean TypeScript build (so no file of an older
// layout lingers in dist/) and this machine's prebuild.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
fs.rmSync(path.join(root, 'prebuilds'), { recursive: true, force: true });
execFileSync(process.execPath, [path.join(__dirname, 'prebuild.js')], { cwd: root, stdio: 'inherit' });
