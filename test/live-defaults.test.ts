// Network outputs get live defaults (a keyframe every 2 s, nothing held back in the encoder);
// files keep the encoder's own; live sources open within about a second.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Decoder, Encoder, Server } from '../lib';
import { probeFrames } from './helpers/ffmpeg-cli';
import { tempDir } from './helpers/fixtures';
import { stampedFrame } from './helpers/stamp';
import { runCli } from './helpers/cli';
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

describe('a live source whose pictures start after its sound', () => {
  // nginx-rtmp gives a new player the sound at once and the pictures from the next keyframe: with
  // a keyframe every 4 s, a 1 s probe used to find only the sound ("has no video stream") most of
  // the time, where ffprobe's 5 s found both. The FLV header announces both, so probing goes on.
  let publisher: ChildProcess;
  beforeAll(async () => {
    publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '100', '-sc_threshold', '0', '-c:a', 'aac', '-f', 'flv', rtmp.liveUrl('late-video')], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
  });
  afterAll(() => {
    publisher.kill('SIGKILL');
  });

  test('Decoder.open waits for the announced video (within a bound), every time, and the sound is there too', async () => {
    const times: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = performance.now();
      await using dec = await Decoder.open(rtmp.liveUrl('late-video'), { audio: true });
      times.push(Math.round(performance.now() - started));
      expect(dec.info.codec).toBe('h264');
      expect(dec.info.audio?.codec).toBe('aac');
      // Up to a keyframe interval (4 s) on top of the probe; loose for a busy machine.
      expect(times.at(-1)).toBeLessThan(9000);
    }
    console.log(`opened in ${times.join(', ')} ms`);
  }, 60_000);

  test('streamcoder probe finds the video too, and takes --probe', async () => {
    const probed = await runCli(['probe', rtmp.liveUrl('late-video'), '--json', '--probe', '2']);
    expect(probed.code, probed.stderr).toBe(0);
    expect(JSON.parse(probed.stdout)).toMatchObject({ codec: 'h264', width: 160, height: 120 });
    const bad = await runCli(['probe', rtmp.liveUrl('late-video'), '--probe', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--probe/);
  }, 60_000);
});
