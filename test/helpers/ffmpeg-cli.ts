// The ffmpeg/ffprobe CLIs as the independent judge of what the library read or wrote.
import { execFileSync, spawn } from 'node:child_process';

/** Frame count by actually decoding (`ffprobe -count_frames`). */
export function probeFrameCount(file: string): number {
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]);
  return Number.parseInt(String(out).trim(), 10);
}

/** Per decoded frame, in presentation order: its pts and whether it is a keyframe. */
export function probeFrames(file: string): { pts: number | null; keyFrame: boolean }[] {
  const out = String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts,key_frame', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 }));
  return out.trim().split('\n').filter(Boolean).map((line) => {
    const [key, pts] = line.split(',');
    return { keyFrame: key === '1', pts: pts === 'N/A' || pts === undefined ? null : Number(pts) };
  });
}

/** Every frame of the first video stream as raw pixels in `pixFmt` (optionally scaled), as ffmpeg gives them. */
export function rawFrames(file: string, pixFmt: string, size?: string): Buffer {
  const filters = size ? ['-vf', `scale=${size.replace('x', ':')}`] : [];
  return execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v:0', ...filters, '-fps_mode', 'passthrough', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-'], { maxBuffer: 1 << 30 });
}

/** PSNR in dB between two byte arrays of equal length (Infinity when identical). */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`psnr: lengths differ (${a.length} vs ${b.length})`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  if (sum === 0) return Infinity;
  return 10 * Math.log10((255 * 255) / (sum / a.length));
}

/**
 * The md5 of each packet's payload in one stream (`v` or `a`), in file order, as the ffmpeg CLI
 * copies them: two files with the same list carry the same compressed packets.
 */
export function packetHashes(file: string, stream: 'v' | 'a'): string[] {
  return String(execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', `0:${stream}:0`, '-c', 'copy', '-f', 'framemd5', '-'])).split('\n')
    // stream, dts, pts, duration, size, hash[, side data...]
    .filter((line) => line && !line.startsWith('#')).map((line) => line.split(',')[5].trim());
}

/**
 * How long an independent reader (the ffmpeg CLI) takes to decode a picture of a live `url`, from
 * now, in ms; Infinity when it has none within `limitMs`. No probing beyond the stream's own
 * description: the time is the server's, not ffmpeg's.
 */
export function firstPictureMs(url: string, limitMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const reader = spawn('ffmpeg', ['-v', 'error', '-analyzeduration', '0', '-probesize', '32', '-i', url, '-frames:v', '1', '-f', 'null', '-'], { stdio: 'ignore' });
    const timer = setTimeout(() => reader.kill('SIGKILL'), limitMs);
    reader.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? performance.now() - started : Infinity);
    });
  });
}
