// npm run demo [-- <input> <url>]: the main job, end to end, on an embedded default.
//
// With no arguments: makes a 12 s sample clip (with the library's Encoder; each picture carries
// its frame number as black/white blocks, and the sound is a tone that beeps each second, AAC),
// starts a real RTMP server (nginx-rtmp on a free loopback port), pushes the clip through the
// two-worker pipeline paced to real time (the sound copied beside the pictures), reads the stream
// back with Client, pictures and sound, and reports frames sent and received, fps, pacing drift,
// latency, bit rate and the sound sent and received. It stops the server it started. Exit code 1
// if a frame was lost.
// With <input> <url>: pushes your file to your server instead (and reads it back from there).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Encoder, pipeline, redactUrl, StreamcoderError, type AudioFrame, type Frame } from '../lib';
import { ProgressReporter } from '../lib/cli/progress';
import { PushStatus } from '../lib/cli/push';
import { readStamp, stampedFrame } from '../test/helpers/stamp';
import { startRtmpServer } from '../test/helpers/servers';

const FPS = 25;
const SECONDS = 12;
const WIDTH = 640;
const HEIGHT = 360;
const RATE = 48000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();

async function sampleClip(): Promise<string> {
  const file = path.join(os.tmpdir(), 'streamcoder-demo-sample-v2.mp4');
  if (fs.existsSync(file)) return file;
  const partial = `${file}.${process.pid}.mp4`;
  const encoder = await Encoder.open(partial, {
    width: WIDTH, height: HEIGHT, frameRate: FPS, pixelFormat: 'gray', preset: 'veryfast', gopSize: FPS,
    audio: { codec: 'aac', bitRate: '96k', sampleRate: RATE, channels: 2 },
  });
  const perFrame = RATE / FPS;
  for (let n = 0; n < FPS * SECONDS; n++) {
    const picture: Frame = {
      kind: 'video', data: stampedFrame(n, WIDTH, HEIGHT), width: WIDTH, height: HEIGHT, pixelFormat: 'gray',
      pts: n, time: n / FPS, index: n, keyFrame: false, pictType: '?',
    };
    encoder.encodeFrame(picture);
    encoder.encodeFrame(tone(n * perFrame, perFrame));
  }
  await encoder.close();
  fs.renameSync(partial, file);
  return file;
}

/** `samples` of a quiet 440 Hz tone from sample `first` on, with a 1 kHz beep in the first 50 ms of each second. */
function tone(first: number, samples: number): AudioFrame {
  const data = new Float32Array(samples * 2);
  for (let i = 0; i < samples; i++) {
    const t = (first + i) / RATE;
    const value = t % 1 < 0.05 ? 0.5 * Math.sin(2 * Math.PI * 1000 * t) : 0.1 * Math.sin(2 * Math.PI * 440 * t);
    data[2 * i] = data[2 * i + 1] = value;
  }
  return { kind: 'audio', data, sampleFormat: 'f32', sampleRate: RATE, channels: 2, samples, pts: first, time: first / RATE };
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main(): Promise<number> {
  const [inputArg, urlArg] = process.argv.slice(2);
  if ((inputArg === undefined) !== (urlArg === undefined)) {
    console.error('usage: npm run demo [-- <input> <url>]');
    return 2;
  }
  const stamped = inputArg === undefined;
  const input = inputArg ?? (await sampleClip());
  const server = urlArg === undefined ? await startRtmpServer() : null;
  const url = urlArg ?? server!.liveUrl('demo');
  try {
    console.log(`streamcoder demo: ${redactUrl(input)} -> ${redactUrl(url)}${server ? ' (a local nginx-rtmp started for the demo)' : ''}`);
    console.log('decoding in one worker, pushing from another, paced to real time; reading it back with Client\n');

    // The reader: connects while the push starts, records which frame arrived when.
    const received: { n: number; at: number }[] = [];
    let soundReceived = 0; // seconds
    let reader: Client<Frame | AudioFrame> | null = null;
    let pushing = true;
    const reading = (async () => {
      const deadline = Date.now() + 15_000;
      while (!reader) {
        try {
          reader = await Client.open(url, { pixelFormat: 'gray', lowLatency: true, cacheSize: 512, timeoutMs: 5000, audio: true });
        } catch (error) {
          if (!pushing || Date.now() > deadline) throw error;
          await sleep(200);
        }
      }
      reader.start();
      for (;;) {
        const frame = await reader.read(2000).catch((error: StreamcoderError) => {
          // After the push, a quiet stream is the end; while pushing, it is a failure.
          if (!pushing && (error.code === 'ERR_TIMEOUT' || error.code === 'ERR_CLOSED')) return null;
          throw error;
        });
        if (!frame) return;
        if (frame.kind === 'audio') soundReceived += frame.samples / frame.sampleRate;
        else received.push({ n: stamped ? readStamp(frame.data, frame.width) : frame.index, at: now() });
      }
    })();

    const progress = new ProgressReporter(ProgressReporter.modeFor({}));
    const status = new PushStatus(8, FPS, (info) => info.frameCount);
    const stats = await pipeline({
      input,
      output: url,
      server: { preset: 'veryfast', tune: 'zerolatency', maxBFrames: 0, gopSize: FPS, bitRate: '1M' },
      realtime: true,
      // The command line's status line: what went out, what the decoder dropped, how far along.
      onProgress: (p) => progress.update(status.status(p)),
    });
    pushing = false;
    progress.finish();
    await reading;
    const readerStats = reader!.stats;
    reader!.close();

    // Frames the reader could have seen: from the first it got to the last sent.
    const first = received[0]?.n ?? 0;
    const expected = stamped ? stats.frames - first : received.length;
    const inOrder = received.every((r, i) => i === 0 || r.n === received[i - 1].n + 1);
    const lost = Math.max(0, expected - received.length) + (inOrder ? 0 : 1);
    const lines = [
      `frames sent        ${stats.frames} (${(stats.frames / FPS).toFixed(1)} s of video)`,
      `frames received    ${received.length}${stamped ? ` (the reader joined at frame ${first}; from there ${expected} were sent)` : ''}`,
      `lost               ${stamped ? `${lost}${inOrder ? '' : ' (out of order!)'}` : 'n/a (frame numbers are stamped only into the sample clip)'}`,
      `push fps           ${stats.fps.toFixed(2)} (target ${FPS}); late frames ${stats.server?.lateFrames ?? 0}; corrupt frames skipped ${stats.dropped}; reader dropped ${readerStats.dropped}`,
      `bit rate           ${((stats.server?.bitRate ?? 0) / 1e6).toFixed(2)} Mbit/s`,
      `sound              ${stats.server?.audioPackets ?? 0} packets sent (${(((stats.server?.audioBytes ?? 0) * 8) / 1000 / Math.max(1, stats.frames / FPS)).toFixed(0)} kbit/s); ${soundReceived.toFixed(1)} s received`,
    ];
    if (stamped && stats.firstFrameAt !== null && received.length > 0) {
      // Frame n was due (and pushed) at firstFrameAt + n / FPS: latency is arrival minus that.
      const latencies = received.map((r) => r.at - (stats.firstFrameAt! + (r.n * 1000) / FPS));
      const sorted = [...latencies].sort((a, b) => a - b);
      lines.push(`latency            p50 ${percentile(sorted, 0.5).toFixed(0)} ms, p95 ${percentile(sorted, 0.95).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (pushed -> decoded by Client)`);
      // Against the median, not the first frame: the reader's first frames come out of what it
      // probed at joining (up to 0.2 s old), in a burst.
      lines.push(`pacing drift       ${(latencies.at(-1)! - percentile(sorted, 0.5)).toFixed(1)} ms over ${(received.length / FPS).toFixed(1)} s (last frame's latency minus the median)`);
    }
    console.log(`\n${lines.join('\n')}`);
    if (stamped && (lost > 0 || received.length === 0)) {
      console.error('\ndemo: frames were lost');
      return 1;
    }
    return 0;
  } finally {
    await server?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`demo: ${error instanceof Error ? redactUrl(error.message) : String(error)}`);
    process.exit(1);
  },
);
