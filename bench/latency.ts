// npm run bench:latency — glass-to-glass latency through a real server on loopback: Server pushes
// 320x240 frames whose pixels carry their frame number (tune zerolatency, no B-frames), paced
// with serveBlock; Client (lowLatency) reads them back in the same process. Latency of frame n =
// the moment Client delivered it - the moment frame n was due: t0 + n / 25 s, t0 being just
// before the first frame was served (pacing releases each frame within ~0.5 ms of its deadline,
// see the push benchmark). So encoding, the server and decoding all count. One monotonic clock.
// 20 s (500 frames).
//
// RTMP goes through nginx-rtmp. RTSP would need a relay that accepts a publish and serves it to
// readers; none installs here (MediaMTX has no Debian/npm package, rtsp-streaming-server relays
// UDP only, and a GStreamer appsink->appsrc relay answered DESCRIBE with 503), so RTSP is not
// measured: see bench/RESULTS.md.
import { Client, Server } from '../lib';
import { readStamp, stampedFrame } from '../test/helpers/stamp';
import { startRtmpServer } from '../test/helpers/servers';

const FRAMES = Number(process.env.LATENCY_FRAMES ?? 500);
const rtmp = await startRtmpServer();
try {
  const url = rtmp.liveUrl('latency');
  const server = await Server.open(url, { width: 320, height: 240, frameRate: 25, pixelFormat: 'gray', preset: 'ultrafast', tune: 'zerolatency', maxBFrames: 0, gopSize: 25 });
  const t0 = performance.now();
  const pushing = (async () => {
    for (let n = 0; n < FRAMES; n++) await server.serveBlock(stampedFrame(n, 320, 240));
    await server.close();
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const client = await Client.open(url, { pixelFormat: 'gray', lowLatency: true, cacheSize: 64, timeoutMs: 3000 });
  client.start();
  const latencies: number[] = [];
  for (;;) {
    const frame = await client.read(2000).catch(() => null);
    if (!frame) break;
    const n = readStamp(frame.data, 320);
    if (n < FRAMES) latencies.push(performance.now() - (t0 + n * 40));
  }
  await pushing;
  client.close();
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  console.log(`RTMP through nginx-rtmp: ${sorted.length} frames of ${FRAMES} measured (the reader joins after ~1.5 s)`);
  console.log(`latency p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (goal p50 < 250 ms)`);
} finally {
  await rtmp.stop();
}
