// The tree as the architecture (README, Layout): native/ in layers, each folder including only
// itself and the folders below it; no source file past ~600 lines; an opening comment in each.
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';

const root = path.join(__dirname, '..');
const native = path.join(root, 'native');

/** native/'s folders, lowest first: a folder may include its own files and those of folders before it. */
const LAYERS: readonly (readonly string[])[] = [['base'], ['video', 'audio'], ['container'], ['live'], ['media'], ['js']];
const rank = new Map(LAYERS.flatMap((folders, k) => folders.map((folder) => [folder, k] as const)));

function files(dir: string, pattern: RegExp): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return files(full, pattern);
    return pattern.test(entry.name) ? [full] : [];
  });
}

test('native/ has only the layer folders, and each file includes only its own folder and the layers below', () => {
  const folders = fs.readdirSync(native).filter((name) => fs.statSync(path.join(native, name)).isDirectory());
  expect(folders.sort()).toEqual([...rank.keys()].sort());
  expect(fs.readdirSync(native).filter((name) => !folders.includes(name))).toEqual([]);
  const upward: string[] = [];
  const sources = files(native, /\.(h|cc)$/);
  expect(sources.length).toBeGreaterThan(70);
  for (const file of sources) {
    const folder = path.relative(native, file).split(path.sep)[0];
    for (const [, target] of fs.readFileSync(file, 'utf8').matchAll(/^#include "([^"]+)"/gm)) {
      const to = target.split('/')[0];
      const allowed = to === folder || (rank.has(to) && rank.get(to)! < rank.get(folder)!);
      if (!allowed || !fs.existsSync(path.join(native, target))) upward.push(`${path.relative(root, file)} -> ${target}`);
    }
  }
  expect(upward).toEqual([]);
});

test('no source file is much over 600 lines, and each opens with a comment that says what it holds', () => {
  const sources = [...files(native, /\.(h|cc)$/), ...files(path.join(root, 'lib'), /\.ts$/)];
  const long = sources.filter((file) => fs.readFileSync(file, 'utf8').split('\n').length > 620).map((file) => path.relative(root, file));
  expect(long).toEqual([]);
  // A .cc opens with its own header's include (the header says what the pair holds).
  const silent = sources.filter((file) => {
    const text = fs.readFileSync(file, 'utf8').replace(/^#!.*\n/, '');
    return file.endsWith('.cc') ? !text.startsWith('#include "') : !/^(\/\/|\/\*)/.test(text);
  });
  expect(silent.map((file) => path.relative(root, file))).toEqual([]);
});
