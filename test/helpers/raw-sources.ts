// Raw video sources for the buffer-safety sweeps: a file of pseudo-random bytes that the Decoder
// opens as `format: 'rawvideo'` with any `video_size` and `pixel_format`, so every source size
// and pixel format costs one open, not one ffmpeg run. A file of N bytes holds
// floor(N / frameBytes) frames of any size, so one file serves every size of a sweep.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Source pixel formats: what decoders commonly output, and how many bytes a w x h frame takes. */
export const RAW_FORMATS = {
  yuv420p: (w: number, h: number) => w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2),     // H.264, HEVC, VP9, AV1
  yuvj420p: (w: number, h: number) => w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2),    // MJPEG (full range)
  yuv422p: (w: number, h: number) => w * h + 2 * Math.ceil(w / 2) * h,                    // ProRes-like, MJPEG 4:2:2
  yuv444p: (w: number, h: number) => 3 * w * h,                                           // H.264/HEVC 4:4:4
  nv12: (w: number, h: number) => w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2),       // hardware decoders
  gbrp: (w: number, h: number) => 3 * w * h,                                              // H.264/VP9 RGB
  rgb24: (w: number, h: number) => 3 * w * h,                                             // PNG, raw
  rgba: (w: number, h: number) => 4 * w * h,                                              // PNG with alpha
  gray: (w: number, h: number) => w * h,                                                  // grey PNG/JPEG
  yuv420p10le: (w: number, h: number) => 2 * (w * h + 2 * Math.ceil(w / 2) * Math.ceil(h / 2)), // 10-bit HEVC
} as const;
export type RawFormat = keyof typeof RAW_FORMATS;

export { packedBytes } from './packed-bytes';

/**
 * Writes `bytes` pseudo-random bytes (a fixed seed: the same file every run) to `file`. For
 * 10-bit formats the high 6 bits of every 16-bit sample are cleared, as a decoder would.
 */
export function writeNoise(file: string, bytes: number, tenBit = false): string {
  const out = Buffer.allocUnsafe(bytes);
  // AES-CTR keystream from a fixed key: fast, and reproducible.
  const cipher = crypto.createCipheriv('aes-128-ctr', Buffer.alloc(16, 7), Buffer.alloc(16, 0));
  const stream = cipher.update(Buffer.alloc(bytes));
  stream.copy(out);
  if (tenBit) for (let i = 1; i < bytes; i += 2) out[i] &= 0x03;
  fs.writeFileSync(file, out);
  return file;
}

/** The Decoder options that open `file` as raw `format` frames of w x h. */
export function rawSource(file: string, format: RawFormat, w: number, h: number) {
  return { path: file, format: 'rawvideo', formatOptions: { video_size: `${w}x${h}`, pixel_format: format, framerate: 25 } };
}

/** ffmpeg input arguments for the first `frames` frames of a raw source (reading no further). */
export function rawInput(file: string, format: RawFormat, w: number, h: number, frames: number): string[] {
  return ['-f', 'rawvideo', '-video_size', `${w}x${h}`, '-pixel_format', format, '-framerate', '25', '-t', String(frames / 25), '-i', file];
}

/**
 * The ffmpeg CLI's own conversion of the first `frames` frames of each source into each output
 * format (optionally scaled), as an md5 per frame (its framemd5 muxer: the md5 of each packed
 * rawvideo picture): one ffmpeg run for many sources and outputs, no pictures written out.
 */
export async function cliFrameMd5s(
  sources: { inputArgs: string[]; outputs: { key: string; pixFmt: string; scale?: string; bytes: number }[] }[],
  frames: number,
  dir: string,
): Promise<Map<string, string[]>> {
  const args = ['-v', 'error', '-y'];
  for (const source of sources) args.push(...source.inputArgs);
  const files: { key: string; file: string; bytes: number }[] = [];
  sources.forEach((source, input) => {
    for (const output of source.outputs) {
      const file = path.join(dir, `cli-${process.pid}-${files.length}.md5`);
      files.push({ key: output.key, file, bytes: output.bytes });
      // Bicubic, as the library uses (and the CLI's default for its scale filter).
      const filter = output.scale ? ['-vf', `scale=${output.scale}:flags=bicubic`] : [];
      args.push('-map', `${input}:v:0`, ...filter, '-frames:v', String(frames), '-c:v', 'rawvideo', '-pix_fmt', output.pixFmt, '-f', 'framemd5', file);
    }
  });
  await execFileAsync('ffmpeg', args);
  const result = new Map<string, string[]>();
  for (const { key, file, bytes } of files) {
    const md5s: string[] = [];
    for (const row of fs.readFileSync(file, 'utf8').split('\n')) {
      if (row === '' || row.startsWith('#')) continue;
      const fields = row.split(',').map((f) => f.trim());
      // A picture of another size than the library's would not be comparable: say so.
      md5s.push(Number(fields[4]) === bytes ? fields[5] : `size ${fields[4]}, expected ${bytes}`);
    }
    result.set(key, md5s);
    fs.rmSync(file);
  }
  return result;
}
