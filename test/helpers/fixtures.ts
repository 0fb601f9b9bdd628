// Test fixtures, made at test time by the ffmpeg CLI from its generated sources (testsrc2, sine).
// Each entry is the exact ffmpeg argument list that makes it. Files are made once per machine
// into a temp dir (written to a temp name, then renamed, so parallel test files never see half a
// file) and reused.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SRC = (size: string, rate: number, seconds: number) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`];

const SINE = (rate: number, seconds: number) => ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}:duration=${seconds}`];
const AV_CODECS = ['-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '2', '-g', '25', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k'];

export const FIXTURES = {
  // H.264, 3 B-frames, a keyframe every 25 frames (no scene-cut keyframes): 75 frames.
  'h264-bframes.mp4': [...SRC('320x240', 25, 3), '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '25', '-sc_threshold', '0', '-pix_fmt', 'yuv420p'],
  // HEVC with B-frames, keyframe every 20: 50 frames.
  'hevc.mp4': [...SRC('320x240', 25, 2), '-c:v', 'libx265', '-x265-params', 'log-level=error:keyint=20:min-keyint=20:bframes=2:scenecut=0', '-pix_fmt', 'yuv420p', '-tag:v', 'hvc1'],
  // MPEG-4 part 2 with B-frames in AVI: 50 frames.
  'mpeg4.avi': [...SRC('320x240', 25, 2), '-c:v', 'mpeg4', '-q:v', '3', '-bf', '2', '-g', '15'],
  // VP9 in WebM: 40 frames.
  'vp9.webm': [...SRC('320x240', 20, 2), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-g', '10', '-b:v', '1M'],
  // Odd size: 853x479 (testsrc2 rounds sizes to even, so scale; 4:4:4, since 4:2:0 H.264 needs
  // even sides): 30 frames.
  'odd-853x479.mp4': [...SRC('854x480', 30, 1), '-vf', 'scale=853:479', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p', '-g', '10'],
  // 10-bit HEVC: 30 frames.
  'tenbit.mkv': [...SRC('320x240', 30, 1), '-c:v', 'libx265', '-x265-params', 'log-level=error:keyint=10:bframes=2', '-pix_fmt', 'yuv420p10le'],
  // Audio is stream 0, video stream 1: 50 frames.
  'audio-first.mkv': ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', ...SRC('320x240', 25, 2), '-map', '0:a', '-map', '1:v', '-c:a', 'aac', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '2', '-g', '10'],
  // No video at all.
  'audio-only.m4a': ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac'],
  // Sound with the pictures (issue 11), each 2 s of 160x120 H.264 at 25 fps (50 frames, B-frames,
  // a keyframe every 25) with an AAC track of a sine tone:
  // 48 kHz stereo, starting with the video.
  'av.mp4': [...SRC('160x120', 25, 2), ...SINE(48000, 2), '-ac', '2', ...AV_CODECS],
  // The same sound starting 200 ms after the video (-itsoffset: an mp4 edit list).
  'av-offset.mp4': [...SRC('160x120', 25, 2), '-itsoffset', '0.2', ...SINE(48000, 1.8), '-ac', '2', ...AV_CODECS],
  // 44.1 kHz mono.
  'av-44k-mono.mp4': [...SRC('160x120', 25, 2), ...SINE(44100, 2), '-ac', '1', ...AV_CODECS],
  // Two audio tracks: 48 kHz stereo 440 Hz first, then 44.1 kHz mono 880 Hz.
  'av-two-tracks.mp4': [...SRC('160x120', 25, 2), ...SINE(48000, 2), '-f', 'lavfi', '-i', 'sine=frequency=880:sample_rate=44100:duration=2',
    '-map', '0:v', '-map', '1:a', '-map', '2:a', '-ac:a:0', '2', '-ac:a:1', '1', ...AV_CODECS],
  // MPEG-TS: H.264 and ADTS AAC (video PID 0x100, audio PID 0x101: ffmpeg's defaults).
  'av.ts': [...SRC('160x120', 25, 2), ...SINE(48000, 2), '-ac', '2', ...AV_CODECS],
  // A 1080p clip for benchmarks: 10 s at 30 fps, 300 frames.
  'bench-1080p.mp4': [...SRC('1920x1080', 30, 10), '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '60', '-pix_fmt', 'yuv420p'],
} as const satisfies Record<string, readonly string[]>;

export type FixtureName = keyof typeof FIXTURES;

export const FIXTURE_DIR = process.env.STREAMCODER_FIXTURES ?? path.join(os.tmpdir(), 'streamcoder-fixtures-v2');

/** The path of a fixture, made first if it does not exist yet. */
export function fixture(name: FixtureName): string {
  const file = path.join(FIXTURE_DIR, name);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(FIXTURE_DIR, { recursive: true });
  const { args, partial } = fixtureCommand(name);
  execFileSync('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.renameSync(partial, file);
  return file;
}

/** The ffmpeg arguments that make `name` into a temp file beside it, to be renamed when done. */
export function fixtureCommand(name: FixtureName): { args: string[]; partial: string } {
  const partial = path.join(FIXTURE_DIR, `.${process.pid}.${Date.now()}.${name}`);
  return { args: ['-v', 'error', '-y', ...FIXTURES[name], '-f', formatOf(name), partial], partial };
}

function formatOf(name: string): string {
  const ext = path.extname(name).slice(1);
  return ({ mp4: 'mp4', m4a: 'mp4', avi: 'avi', webm: 'webm', mkv: 'matroska', ts: 'mpegts' } as Record<string, string>)[ext] ?? ext;
}

/** A fresh temp directory for one test file; removed by the returned cleanup. */
export function tempDir(prefix = 'streamcoder-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
