// Decoder's confineTo: the input and everything it names must lie in one directory. An HLS
// playlist inside it that lists segments outside (absolute paths, `..`, a symbolic link that
// leads out) gets nothing from outside, and the outcome is the same whether the outside file
// exists or not: the errors never tell what lies outside.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Decoder, StreamcoderError } from '../lib';
import { tempDir } from './helpers/fixtures';
import { makeHls, playlistOf } from './helpers/hls';

const { dir, cleanup } = tempDir('streamcoder-confine-');
const inside = path.join(dir, 'allowed');
const outside = path.join(dir, 'outside');

beforeAll(async () => {
  fs.mkdirSync(inside);
  fs.mkdirSync(outside);
  await Promise.all([makeHls(inside, 'in'), makeHls(outside, 'out')]);
  fs.symlinkSync(outside, path.join(inside, 'link'));
  const write = (name: string, segments: string[]) => fs.writeFileSync(path.join(inside, name), playlistOf(segments));
  write('absolute.m3u8', [path.join(outside, 'out0.ts'), path.join(outside, 'out1.ts')]);
  write('absolute-missing.m3u8', [path.join(outside, 'none0.ts'), path.join(outside, 'none1.ts')]);
  write('dotdot.m3u8', ['../outside/out0.ts', '../outside/out1.ts']);
  write('dotdot-missing.m3u8', ['../outside/none0.ts', '../outside/none1.ts']);
  write('link.m3u8', ['link/out0.ts', 'link/out1.ts']);
  write('link-missing.m3u8', ['link/none0.ts', 'link/none1.ts']);
  write('mixed.m3u8', ['in0.ts', path.join(outside, 'out1.ts')]);
  // The concat demuxer opens its entries as inputs of their own, past any io_open of ours.
  fs.writeFileSync(path.join(inside, 'list.ffconcat'), 'ffconcat version 1.0\nfile link/out0.ts\n');
}, 60_000);

afterAll(() => cleanup());

/** Frames decoded, or the error's code and message: what a caller can learn. */
async function outcome(source: string, confineTo: string | undefined): Promise<string> {
  let frames = 0;
  try {
    const decoder = await Decoder.open(source, { pixelFormat: 'gray', ...(confineTo ? { confineTo } : {}) });
    try {
      while (await decoder.read()) frames++;
    } finally {
      decoder.close();
    }
    return `${frames} frames`;
  } catch (error) {
    if (!(error instanceof StreamcoderError)) throw error;
    // The segment's name as the playlist spelled it may be quoted back; that tells nothing new.
    return `${frames} frames, then ${error.code}: ${error.message.replaceAll(source, '<source>').replace(/'[^']*\.ts'/g, "'<segment>'")}`;
  }
}

describe('confineTo', () => {
  test('a playlist and its segments inside: every frame', async () => {
    expect(await outcome(path.join(inside, 'in.m3u8'), inside)).toBe('50 frames');
  });

  test('without it, a playlist inside reads segments outside (what confineTo is there to stop)', async () => {
    expect(await outcome(path.join(inside, 'absolute.m3u8'), undefined)).toBe('50 frames');
    expect(await outcome(path.join(inside, 'dotdot.m3u8'), undefined)).toBe('50 frames');
  });

  test('segments outside, by absolute path, `..` or a link that leads out: nothing from outside, and the same outcome as for files that do not exist', async () => {
    for (const name of ['absolute', 'dotdot', 'link']) {
      const existing = await outcome(path.join(inside, `${name}.m3u8`), inside);
      const missing = await outcome(path.join(inside, `${name}-missing.m3u8`), inside);
      expect(existing, name).not.toMatch(/^[1-9]\d* frames/);
      expect(existing.replaceAll(`${name}.m3u8`, 'x'), name).toBe(missing.replaceAll(`${name}-missing.m3u8`, 'x'));
    }
    // The segment inside still plays; the one outside does not.
    expect(await outcome(path.join(inside, 'mixed.m3u8'), inside)).toMatch(/^25 frames/);
  });

  test('the concat demuxer, whose entries would be opened past the confinement, is refused under it', async () => {
    expect(await outcome(path.join(inside, 'list.ffconcat'), undefined)).toBe('25 frames');
    expect(await outcome(path.join(inside, 'list.ffconcat'), inside)).toMatch(/^0 frames, then ERR_INVALID_ARGUMENT: .*whitelist/i);
  });

  test('an input outside, or not a local file, is ERR_ACCESS, whether it exists or not', async () => {
    const refused = async (source: string) => {
      const error = await Decoder.open(source, { confineTo: inside }).then(() => null, (e: unknown) => e as StreamcoderError);
      expect(error?.code, source).toBe('ERR_ACCESS');
      return error!.message.replaceAll(source, '<source>');
    };
    const existing = await refused(path.join(outside, 'out.m3u8'));
    expect(await refused(path.join(outside, 'none.m3u8'))).toBe(existing);
    expect(await refused(`${inside}/../outside/out.m3u8`)).toBe(existing);
    expect(await refused(path.join(inside, 'link', 'out.m3u8'))).toBe(existing);
    await refused('http://127.0.0.1:1/x.m3u8');
  });

  test('is checked: an absolute path of a directory that exists', async () => {
    for (const bad of ['relative/dir', 42]) {
      await expect(Decoder.open(path.join(inside, 'in.m3u8'), { confineTo: bad as string })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
    await expect(Decoder.open(path.join(inside, 'in.m3u8'), { confineTo: path.join(dir, 'nowhere') })).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});
