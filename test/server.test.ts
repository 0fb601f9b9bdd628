// Server against real servers on loopback: nginx-rtmp and GStreamer's RTSP server. What arrived
// is judged independently: nginx's own recording and the RTSP server's recording, read by ffprobe
// and ffmpeg. Then pacing, and every failure the issue names.
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Decoder, Server, StreamcoderError, type Frame } from '../lib';
import { fixture } from './helpers/fixtures';
import { probeFrameCount, psnr, rawFrames } from './helpers/ffmpeg-cli';
import { freePort, settledFile, startRtmpServer, startRtspRecordServer, type RtmpServer } from './helpers/servers';

const source = fixture('h264-bframes.mp4');
let frames: Frame[];
let rtmp: RtmpServer;

beforeAll(async () => {
  using dec = Decoder.openSync(source);
  frames = [];
  for (let f = dec.extractFrame(); f; f = dec.extractFrame()) frames.push(f);
  rtmp = await startRtmpServer();
});
afterAll(() => rtmp?.stop());

const info = { width: 320, height: 240, frameRate: { num: 25, den: 1 } };
// A sane quality for the round-trip checks.
const quality = { preset: 'veryfast', bitRate: '1500k', gopSize: 25 };

function codecAndSize(file: string): string {
  return String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height', '-of', 'csv=p=0', file])).trim();
}

function expectPicturesSurvived(file: string, count: number): void {
  const decoded = rawFrames(file, 'rgb24');
  const size = 320 * 240 * 3;
  expect(decoded.length).toBe(size * count);
  for (const i of [0, Math.floor(count / 2), count - 1]) {
    expect(psnr(decoded.subarray(i * size, (i + 1) * size), frames[i].data), `frame ${i}`).toBeGreaterThan(30);
  }
}

describe('RTMP through nginx', () => {
  test('every frame served arrives, the right size and codec, the pictures intact', async () => {
    const srv = await Server.open(rtmp.recordUrl('all'), { from: info, ...quality });
    for (const frame of frames) srv.serveFrame(frame);
    await srv.close();
    expect(srv.stats).toMatchObject({ frames: 75, packets: 75, keyFrames: 3 });
    const recorded = await settledFile(rtmp.recordingOf('all'));
    expect(probeFrameCount(recorded)).toBe(75);
    expect(codecAndSize(recorded)).toBe('h264,320,240');
    expectPicturesSurvived(recorded, 75);
  });

  test('a live reader (ffmpeg on the relay) decodes the stream while it is pushed, paced, async', async () => {
    const srv = await Server.open(rtmp.liveUrl('watch'), { from: info, ...quality, tune: 'zerolatency' });
    // Reads 25 frames of the live relay as raw 320x240 rgb24, then stops by itself. A short probe:
    // with ffmpeg's default 5 s, the 3 s stream ends before probing does and nothing is decoded live.
    const reader = spawn('ffmpeg', ['-v', 'error', '-rw_timeout', '10000000', '-probesize', '32768', '-analyzeduration', '500000', '-i', rtmp.liveUrl('watch'), '-frames:v', '25', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
    let bytes = 0;
    reader.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    const exited = new Promise<number | null>((resolve) => reader.once('exit', resolve));
    for (const frame of frames) await srv.serveBlock(frame);
    const bytesWhilePushing = bytes;
    expect(await exited).toBe(0);
    expect(bytesWhilePushing).toBeGreaterThan(0);
    await srv.close();
    expect(bytes).toBe(25 * 320 * 240 * 3);
  });

  test('a rendition ladder: the same Frames to two Servers, the second opened at 160x120 and scaling them (test/scale.test.ts has the rest)', async () => {
    const hd = await Server.open(rtmp.recordUrl('ladder-hd'), { from: info, ...quality });
    const sd = await Server.open(rtmp.recordUrl('ladder-sd'), { from: info, ...quality, width: 160, height: 120 });
    for (const frame of frames) {
      await hd.serve(frame);
      await sd.serve(frame);
    }
    await Promise.all([hd.close(), sd.close()]);
    expect(sd.stats).toMatchObject({ frames: 75, packets: 75 });
    const [hdFile, sdFile] = await Promise.all([settledFile(rtmp.recordingOf('ladder-hd')), settledFile(rtmp.recordingOf('ladder-sd'))]);
    expect(codecAndSize(hdFile)).toBe('h264,320,240');
    expect(codecAndSize(sdFile)).toBe('h264,160,120');
    expect(probeFrameCount(hdFile)).toBe(75);
    expect(probeFrameCount(sdFile)).toBe(75);
    // The small stream's pictures are the source's, scaled: against the CLI's own scaling of them
    // into yuv420p (what the encoder takes), both read back as rgb24.
    const small = rawFrames(sdFile, 'rgb24');
    for (const i of [0, 37, 74]) {
      const reference = execFileSync('ffmpeg', ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '320x240', '-i', '-', '-vf', 'scale=160:120,format=yuv420p', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { input: frames[i].data });
      expect(psnr(small.subarray(i * reference.length, (i + 1) * reference.length), reference), `frame ${i}`).toBeGreaterThan(28);
    }
  });

  test('a bad application path the server refuses: a clear error at open', async () => {
    const error = await Server.open(`rtmp://127.0.0.1:${rtmp.port}/nosuchapp/x`, { from: info, timeoutMs: 5000 }).catch((e) => e);
    expect(error).toBeInstanceOf(StreamcoderError);
    expect(error.message).toContain('nosuchapp');
  });
});

describe('RTSP publish to GStreamer', () => {
  test.each(['tcp', 'udp'] as const)('over %s: every frame arrives, pictures intact', async (transport) => {
    const rtsp = await startRtspRecordServer();
    try {
      await using srv = await Server.open(rtsp.url, { from: info, ...quality, transport });
      // Paced, as a live publisher would be: UDP has no flow control, a burst would be lost.
      for (const frame of frames) srv.serveFrameBlock(frame);
      await srv.close();
      await settledFile(rtsp.recording);
      expect(probeFrameCount(rtsp.recording)).toBe(75);
      expect(codecAndSize(rtsp.recording)).toBe('h264,320,240');
      expectPicturesSurvived(rtsp.recording, 75);
    } finally {
      await rtsp.stop();
    }
  });
});

describe('pacing', () => {
  test('serveFrameBlock keeps real time from the first frame, lookahead or not; late frames are counted, not delayed', async () => {
    const srv = await Server.open(rtmp.liveUrl('pace'), { from: info, preset: 'veryfast' });
    const started = performance.now();
    const lateness: number[] = [];
    for (const frame of frames.slice(0, 10)) lateness.push(srv.serveFrameBlock(frame));
    // x264's lookahead emits nothing for the first frames; pacing must not rush them out.
    expect(performance.now() - started).toBeGreaterThan(9 * 40 - 15);
    for (const frame of frames.slice(10, 50)) lateness.push(srv.serveFrameBlock(frame));
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThan(49 * 40 - 15);
    expect(elapsed).toBeLessThan(49 * 40 + 400);
    expect(Math.max(...lateness)).toBeLessThan(0.1);
    expect(srv.stats.lateFrames).toBe(0);
    // A producer slower than real time is never blocked: 5 frames 100 ms apart at 25 fps.
    for (const frame of frames.slice(50, 55)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const before = performance.now();
      srv.serveFrameBlock(frame);
      expect(performance.now() - before).toBeLessThan(40);
    }
    expect(srv.stats.lateFrames).toBeGreaterThanOrEqual(4);
    srv.closeSync();
  });

  test('lead and waitRef: an unpaced producer runs ahead of the wall clock', async () => {
    await using srv = await Server.open(rtmp.liveUrl('lead'), { from: info, preset: 'ultrafast' });
    for (const frame of frames.slice(0, 50)) srv.serveFrame(frame);
    // 49 frame intervals at 25 fps = 1.96 s of media served in (much) less wall time.
    expect(srv.lead).toBeGreaterThan(1);
    expect(srv.lead).toBeLessThan(1.97);
    expect(srv.waitRef).toBeCloseTo(srv.lead / 2, 1);
  });
});

describe('failures', () => {
  test('a URL nothing listens on: ERR_CONNECTION_REFUSED at open, at once', async () => {
    const port = await freePort();
    const started = Date.now();
    for (const url of [`rtmp://127.0.0.1:${port}/live/x`, `rtsp://127.0.0.1:${port}/live`]) {
      const error = await Server.open(url, { from: info, timeoutMs: 5000 }).catch((e) => e);
      expect(error).toBeInstanceOf(StreamcoderError);
      expect(error.code, error.message).toBe('ERR_CONNECTION_REFUSED');
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a server that accepts and never answers: ERR_TIMEOUT within timeoutMs; credentials masked', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      for (const url of [`rtmp://127.0.0.1:${port}/live/x`, `rtsp://user:s3cret@127.0.0.1:${port}/live`]) {
        const started = Date.now();
        const error = await Server.open(url, { from: info, timeoutMs: 800 }).catch((e) => e);
        expect(error).toBeInstanceOf(StreamcoderError);
        expect(error.code, error.message).toBe('ERR_TIMEOUT');
        expect(error.message).not.toContain('s3cret');
        expect(Date.now() - started).toBeLessThan(6000);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  test('the server killed mid-push: serveFrame throws a clear error, the process lives, close() works', async () => {
    const victim = await startRtmpServer();
    try {
      const srv = await Server.open(victim.liveUrl('doomed'), { from: info, preset: 'ultrafast', tune: 'zerolatency', timeoutMs: 3000 });
      for (const frame of frames.slice(0, 10)) srv.serveFrame(frame);
      victim.kill();
      await new Promise((resolve) => setTimeout(resolve, 300));
      let error: unknown = null;
      for (let i = 0; i < 500 && error === null; i++) {
        try {
          srv.serveFrame(frames[(10 + i) % frames.length].data);
        } catch (e) {
          error = e;
        }
      }
      expect(error).toBeInstanceOf(StreamcoderError);
      expect(['ERR_CONNECTION_LOST', 'ERR_IO', 'ERR_TIMEOUT']).toContain((error as StreamcoderError).code);
      // Later calls say the output is broken; close() still completes.
      expect(() => srv.serveFrame(frames[0].data)).toThrow(StreamcoderError);
      await srv.close();
      expect(srv.closed).toBe(true);
    } finally {
      await victim.stop();
    }
  });

  test('a server that stops reading mid-push (frozen): ERR_TIMEOUT within timeoutMs, and close() is bounded too', async () => {
    const frozen = await startRtmpServer();
    try {
      const srv = await Server.open(frozen.liveUrl('stall'), { width: 640, height: 480, pixelFormat: 'gray', preset: 'ultrafast', crf: 0, timeoutMs: 1500 });
      // Noise, losslessly: ~300 KB a frame, so the socket buffers fill within a few dozen frames.
      const noise = new Uint8Array(640 * 480);
      const serveNoise = () => {
        for (let i = 0; i < noise.length; i += 4096) noise.set(crypto.getRandomValues(new Uint8Array(Math.min(4096, noise.length - i))), i);
        srv.serveFrame(noise);
      };
      for (let i = 0; i < 5; i++) serveNoise();
      frozen.pause();
      let error: unknown = null;
      let blockedFor = 0;
      const started = performance.now();
      for (let i = 0; i < 1000 && error === null && performance.now() - started < 30_000; i++) {
        const before = performance.now();
        try {
          serveNoise();
        } catch (e) {
          error = e;
          blockedFor = performance.now() - before;
        }
      }
      expect(error).toBeInstanceOf(StreamcoderError);
      expect((error as StreamcoderError).code, (error as Error).message).toBe('ERR_TIMEOUT');
      expect(blockedFor).toBeGreaterThan(1500 - 100);
      expect(blockedFor).toBeLessThan(1500 + 2000);
      const closing = performance.now();
      await srv.close().catch(() => undefined);
      expect(srv.closed).toBe(true);
      expect(performance.now() - closing).toBeLessThan(1500 + 2000);
    } finally {
      frozen.resume();
      await frozen.stop();
    }
  }, 60_000);

  test('serving after close, and overlapping async serves', async () => {
    const srv = await Server.open(rtmp.liveUrl('closed'), { from: info, preset: 'ultrafast' });
    // serve() queues: two at once are both taken, in order. serveBlock is one operation at a time.
    const first = srv.serve(frames[0]);
    const second = srv.serve(frames[1]);
    const blocking = srv.serveBlock(frames[2]);
    await expect(srv.serve(frames[3])).rejects.toMatchObject({ code: 'ERR_BUSY' });
    await Promise.all([first, second, blocking]);
    await srv.close();
    expect(srv.stats.frames).toBe(3);
    expect(() => srv.serveFrame(frames[1])).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    await expect(srv.serveBlock(frames[1])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  test('close() while serveBlock waits for a far deadline returns promptly', async () => {
    const srv = await Server.open(rtmp.liveUrl('far'), { from: info, preset: 'ultrafast' });
    srv.serveFrame(frames[0]);
    const far = { ...frames[1], index: 25 * 60, time: 60 };  // due in a minute
    const waiting = srv.serveBlock(far).catch((e) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await srv.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await waiting).toMatchObject({ code: 'ERR_CLOSED' });
  });
});
