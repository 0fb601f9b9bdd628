// Client with audio (issue 11): the sound of a live RTMP stream (nginx-rtmp fed by the ffmpeg CLI
// encoding a test pattern and a tone: H.264 + AAC) read beside its pictures, and the options refused.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Client, type AudioFrame, type Frame } from '../lib';
import { startRtmpServer, type RtmpServer } from './helpers/servers';

let rtmp: RtmpServer;
beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(() => rtmp?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('audio: true keeps the live sound: chunks beside the frames, in read order, resampled as asked', async () => {
  // 6 s live: 25 fps H.264 (a keyframe a second) and 48 kHz stereo AAC.
  const publisher = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=6', '-f', 'lavfi', '-i', 'sine=sample_rate=48000:duration=6',
    '-ac', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-c:a', 'aac', '-f', 'flv', rtmp.liveUrl('sound')]);
  try {
    await sleep(300);
    await using cli = await Client.open(rtmp.liveUrl('sound'), { timeoutMs: 3000, cacheSize: 64, audio: { sampleRate: 16000, channels: 1, sampleFormat: 's16' } });
    expect(cli.info.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 2, output: { sampleRate: 16000, channels: 1, sampleFormat: 's16' } });
    cli.start();
    const got: (Frame | AudioFrame)[] = [];
    for (let item = await cli.read(); item && got.length < 150; item = await cli.read()) got.push(item);
    const audio = got.filter((i): i is AudioFrame => i.kind === 'audio');
    const video = got.filter((i): i is Frame => i.kind === 'video');
    expect(video.length).toBeGreaterThan(20);
    expect(audio.length).toBeGreaterThan(20);
    for (const a of audio) {
      expect(a).toMatchObject({ sampleRate: 16000, channels: 1, sampleFormat: 's16' });
      expect(a.data).toBeInstanceOf(Int16Array);
      expect(a.data.length).toBe(a.samples);
    }
    // Each stream in its own order; the two within a second of each other (FLV interleaves them).
    for (let i = 1; i < audio.length; i++) expect(audio[i].time).toBeGreaterThan(audio[i - 1].time);
    for (let i = 1; i < video.length; i++) expect(video[i].time!).toBeGreaterThan(video[i - 1].time!);
    expect(Math.abs(audio[0].time - video[0].time!)).toBeLessThan(1);
    // extractFrame(n) stays pictures only.
    expect(cli.extractFrame(4).every((f) => f.kind === 'video')).toBe(true);
    expect(cli.stats.audioReceived).toBeGreaterThanOrEqual(audio.length);
    expect(cli.stats.audioDropped).toBe(0);
  } finally {
    publisher.kill('SIGKILL');
  }
});

test('Client audio options: copy refused (a Client decodes), bounds as for Decoder, an unknown key named', async () => {
  const url = rtmp.liveUrl('never');
  await expect(Client.open(url, { audio: 'copy' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/stream copy/) });
  await expect(Client.open(url, { audio: { sampleRate: 1e9 } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/audio\.sampleRate/) });
  await expect(Client.open(url, { audio: { chanels: 2 } as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/did you mean 'channels'/) });
});
