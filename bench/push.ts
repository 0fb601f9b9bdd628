// npm run bench:push
// (1) Throughput: the 1080p fixture (300 frames) decoded and pushed unpaced with libx264
//     veryfast, GOP 60, to a local nginx-rtmp, against `ffmpeg -i X -c:v libx264 -preset veryfast
//     -g 60 -tcp_nodelay 1 -f flv rtmp://...` doing the same, in the same run, same thread counts
//     (0: auto) and the same socket option (the library sets TCP_NODELAY for rtmp://).
//     Frames stay yuv420p end to end on both sides (no colour conversion), so the work is the
//     same; the rgb24 path (what most users feed) is printed for information.
// (2) Pacing: 30 s at 30 fps with serveFrameBlock (640x360): lateness of each frame against its
//     deadline (p50, p99, max) and the drift of the last frame.
import { Decoder, Server } from '../lib';
import { fixture } from '../test/helpers/fixtures';
import { probeFrameCount } from '../test/helpers/ffmpeg-cli';
import { startRtmpServer } from '../test/helpers/servers';
import { measure, measureCommand, report, rounds } from './common';

const file = fixture('bench-1080p.mp4');
const frames = probeFrameCount(file);
const rtmp = await startRtmpServer();
const encoder = { preset: 'veryfast', gopSize: 60, threads: 0 } as const;

try {
  let run = 0;
  const push = (pixelFormat: 'yuv420p' | 'rgb24') => async () => {
    const dec = Decoder.openSync(file, { pixelFormat });
    const srv = await Server.open(rtmp.liveUrl(`bench${run++}`), { from: dec.info, ...encoder });
    const buffer = new Uint8Array(dec.frameBytes);
    let n = 0;
    while (dec.extractFrameInto(buffer)) {
      srv.serveFrame(buffer);
      n++;
    }
    srv.closeSync();
    dec.close();
    return n;
  };
  const results = await rounds(3, [
    () => measureCommand('ffmpeg CLI (decode + libx264 + flv push)', frames, 'ffmpeg', ['-v', 'error', '-threads', '0', '-i', file, '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-threads', '0', '-tcp_nodelay', '1', '-f', 'flv', rtmp.liveUrl(`cli${run++}`)]),
    () => measure('Decoder -> Server.serveFrame (yuv420p)', push('yuv420p')),
    () => measure('Decoder -> Server.serveFrame (rgb24)', push('rgb24')),
  ]);
  report(`Push 1080p H.264 -> libx264 veryfast -> nginx-rtmp, ${frames} frames, unpaced (median of 3)`, results, 'ffmpeg CLI (decode + libx264 + flv push)');

  // Pacing.
  const seconds = Number(process.env.PACE_SECONDS ?? 30);
  const dec = Decoder.openSync(file, { width: 640, pixelFormat: 'yuv420p' });
  const pictures = Array.from({ length: 30 }, () => dec.extractFrame()!.data);
  dec.close();
  const srv = await Server.open(rtmp.liveUrl('pace'), { width: 640, height: 360, frameRate: 30, pixelFormat: 'yuv420p', preset: 'veryfast' });
  const lateness: number[] = [];
  const total = seconds * 30;
  const started = performance.now();
  for (let i = 0; i < total; i++) lateness.push(srv.serveFrameBlock(pictures[i % pictures.length]) * 1000);
  const elapsed = (performance.now() - started) / 1000;
  srv.closeSync();
  const sorted = [...lateness].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const drift = (elapsed - (total - 1) / 30) * 1000;
  console.log(`\nPacing: ${total} frames at 30 fps (${seconds} s) with serveFrameBlock, 640x360 libx264 veryfast`);
  console.log(`lateness against each deadline: p50 ${at(0.5).toFixed(3)} ms, p99 ${at(0.99).toFixed(3)} ms, max ${sorted[sorted.length - 1].toFixed(3)} ms`);
  console.log(`drift at the end: ${drift.toFixed(2)} ms (one frame = 33.3 ms); late frames: ${srv.stats.lateFrames}`);
} finally {
  await rtmp.stop();
}
