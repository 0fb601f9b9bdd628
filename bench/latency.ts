// npm run bench:latency — glass-to-glass latency through a real server on loopback: Server pushes
// 320x240 frames whose pixels carry their frame number (tune zerolatency, no B-frames), paced
// with serveBlock; Client (lowLatency) reads them back in the same process. Latency of frame n =
// the moment Client delivered it - the moment frame n was due: t0 + n / 25 s, t0 being just
// before the first frame was served (pacing releases each frame within ~0.5 ms of its deadline,
// see the push benchmark). So encoding, the server and decoding all count. One monotonic clock.
// 20 s (500 frames) per path:
//   RTMP: Server -> nginx-rtmp -> Client.
//   RTSP over TCP: Server -> (RTP over UDP) -> GStreamer's RTSP server serving it live at /live
//   -> Client (RTSP over TCP). Nothing installable here takes an RTSP publish and serves it to
//   readers, so the relay is fed RTP (an MPEG-TS feed added ~80 ms of TS demuxing in the relay);
//   the reading side is real RTSP over TCP. One encoder thread (one slice per picture), which
//   the relay's depayloader and parser pass through whole.
import { Client, Server, type ClientOptions, type WriterOptions } from '../lib';
import { readStamp, stampedFrame } from '../test/helpers/stamp';
import { startRtmpServer, startRtspRelay } from '../test/helpers/servers';

const FRAMES = Number(process.env.LATENCY_FRAMES ?? 500);

async function measure(publishUrl: string, readUrl: string, writer: WriterOptions, reader: ClientOptions): Promise<number[]> {
  const server = await Server.open(publishUrl, { width: 320, height: 240, frameRate: 25, pixelFormat: 'gray', preset: 'ultrafast', tune: 'zerolatency', maxBFrames: 0, gopSize: 25, ...writer });
  const t0 = performance.now();
  const pushing = (async () => {
    for (let n = 0; n < FRAMES; n++) await server.serveBlock(stampedFrame(n, 320, 240));
    await server.close();
  })();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const client = await Client.open(readUrl, { pixelFormat: 'gray', lowLatency: true, cacheSize: 64, timeoutMs: 3000, ...reader });
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
  return latencies.sort((a, b) => a - b);
}

function report(name: string, sorted: number[], goal: string): void {
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  console.log(`${name}: ${sorted.length} of ${FRAMES} frames measured (the reader joins late)`);
  console.log(`  latency p50 ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (goal ${goal})`);
}

const rtmp = await startRtmpServer();
try {
  report('RTMP through nginx-rtmp', await measure(rtmp.liveUrl('latency'), rtmp.liveUrl('latency'), {}, {}), 'p50 < 250 ms');
} finally {
  await rtmp.stop();
}
const relay = await startRtspRelay();
try {
  const feed = { format: 'rtp', threads: 1, formatOptions: { payload_type: 96 } };
  report('RTSP over TCP from GStreamer (fed RTP over UDP)', await measure(relay.feedUrl, relay.url, feed, { transport: 'tcp' }), 'p50 < 100 ms');
} finally {
  await relay.stop();
}
