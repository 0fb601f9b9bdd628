// Network outputs get live defaults (a keyframe every 2 s, nothing held back in the encoder);
// files keep the encoder's own; live sources open within about a second.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Decoder, Encoder, Server } from '../lib';
import { probeFrames } from './helpers/ffmpeg-cli';
import { tempDir } from './helpers/fixtures';
import { stampedFrame } from './helpers/stamp';
import { settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';

const { dir, cleanup } = tempDir();
let rtmp: RtmpServer;
beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(async () => {
  await rtmp?.stop();
  cleanup();
});

// Small changes from frame to frame (a stamped number), so that no scene cut adds a keyframe.
const gray = (n: number) => stampedFrame(n, 160, 120);
const keyFrames = (file: string) => probeFrames(file).flatMap((f, i) => (f.keyFrame ? [i] : []));

describe('encoding defaults', () => {
  test('a network output: a keyframe every 2 s of media, no frame held back (close() is quick)', async () => {
    const srv = await Server.open(rtmp.recordUrl('defaults'), { width: 160, height: 120, pixelFormat: 'gray', frameRate: 25 });
    for (let n = 0; n < 125; n++) await srv.serveBlock(gray(n));
    // Every frame served is out already: nothing waits in x264's lookahead to be flushed at a frame's pace.
    expect(srv.stats.packets).toBe(125);
    const closing = performance.now();
    await srv.close();
    expect(performance.now() - closing).toBeLessThan(500);
    expect(keyFrames(await settledFile(rtmp.recordingOf('defaults')))).toEqual([0, 50, 100]);
  });

  test('gopSeconds sets the interval in media time; with gopSize too it is refused', async () => {
    const srv = await Server.open(rtmp.recordUrl('gop-seconds'), { width: 160, height: 120, pixelFormat: 'gray', frameRate: 30, gopSeconds: 0.5 });
    for (let n = 0; n < 60; n++) srv.serveFrame(gray(n));
    await srv.close();
    expect(keyFrames(await settledFile(rtmp.recordingOf('gop-seconds')))).toEqual([0, 15, 30, 45]);
    await expect(Server.open(rtmp.liveUrl('x'), { width: 160, height: 120, gopSize: 25, gopSeconds: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('gopSeconds') });
  });

  test('a file keeps the encoder\'s defaults (x264: a keyframe every 250 frames, lookahead and B-frames)', async () => {
    const file = path.join(dir, 'file-defaults.mp4');
    const enc = await Encoder.open(file, { width: 160, height: 120, pixelFormat: 'gray', frameRate: 25 });
    for (let n = 0; n < 300; n++) enc.encodeFrame(gray(n));
    // x264's lookahead still holds frames: the file's encoder is not tuned for latency.
    expect(enc.stats.packets).toBeLessThan(300);
    await enc.close();
    expect(keyFrames(file)).toEqual([0, 250]);
  });
});

describe('live sources open fast', () => {
  let publisher: ChildProcess;
  beforeAll(async () => {
    publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-c:v', 'libx264', '-preset', 'ultrafast',
      '-tune', 'zerolatency', '-g', '30', '-f', 'flv', rtmp.liveUrl('source')], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
  });
  afterAll(() => {
    publisher.kill('SIGKILL');
  });

  test('Decoder.open on a live RTMP stream takes about a second of probing, not five', async () => {
    const started = performance.now();
    await using dec = await Decoder.open(rtmp.liveUrl('source'));
    const opened = performance.now() - started;
    expect(await dec.read()).not.toBeNull();
    console.log(`live RTMP source opened in ${Math.round(opened)} ms`);
    expect(opened).toBeLessThan(2500);
  });
});
