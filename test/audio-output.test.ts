// Sound in Server and Encoder: AudioFrames (synthesized here, and PCM from the ffmpeg CLI) encoded
// beside the pictures, to files and to nginx-rtmp; audio packets copied. ffprobe judges what was
// written: codecs, rates, channels, durations, start times. Then every bad input gets its error.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Encoder, Server, type AudioFrame, type WriterOptions } from '../lib';
import { fixture, tempDir } from './helpers/fixtures';
import { settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';
import { byTime, ffmpegPcm, grayFrame, probePackets, probeParameters, sine, streamOf } from './helpers/media';
import { execFileSync } from 'node:child_process';
import { caught } from './helpers/errors';

const { dir, cleanup } = tempDir();
let rtmp: RtmpServer;
beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(async () => {
  await rtmp?.stop();
  cleanup();
});

const video = { width: 64, height: 48, pixelFormat: 'gray' as const, frameRate: 25, preset: 'ultrafast' };
/** 25 fps gray pictures for `seconds`, from `start`. */
const pictures = (seconds: number, start = 0) => Array.from({ length: Math.round(seconds * 25) }, (_, i) => grayFrame(64, 48, start + i / 25, (i * 7) % 256));
const out = (name: string) => path.join(dir, name);


function encodeFile(name: string, options: WriterOptions, items: Parameters<Encoder['encodeFrame']>[0][]): Encoder {
  const enc = Encoder.openSync(out(name), { ...video, ...options });
  for (const item of items) enc.encodeFrame(item);
  enc.closeSync();
  return enc;
}

describe('encoded sound', () => {
  test('MP4: pictures and a synthesized stereo sine, AAC by default: both streams, rates, durations, counters', () => {
    const enc = encodeFile('sine.mp4', { audio: {} }, byTime(pictures(2), sine({ seconds: 2 })));
    const a = streamOf(out('sine.mp4'), 'audio');
    expect(a).toMatchObject({ codec_name: 'aac', sample_rate: '48000', channels: 2 });
    expect(Number(a.duration)).toBeCloseTo(2, 1);
    expect(Number(streamOf(out('sine.mp4'), 'video').duration)).toBeCloseTo(2, 1);
    expect(enc.stats).toMatchObject({ frames: 50, packets: 50, audioSamples: 96000 });
    // 96000 samples in 1024-sample AAC frames, plus the encoder's priming and the padded tail.
    expect(enc.stats.audioPackets).toBeGreaterThanOrEqual(94);
    expect(enc.stats.audioBytes).toBeGreaterThan(1000);
  });

  test('RTMP to nginx (record): PCM from the ffmpeg CLI, 44.1 kHz mono, sent as 48 kHz mono AAC', async () => {
    const srv = await Server.open(rtmp.recordUrl('pcm'), { ...video, audio: { sampleRate: 48000, channels: 1, bitRate: '64k' } });
    for (const item of byTime(pictures(3), ffmpegPcm(3, 44100, 1))) await srv.serve(item);  // async: samples copied off movable memory
    await srv.close();
    const recorded = await settledFile(rtmp.recordingOf('pcm'));
    const a = streamOf(recorded, 'audio');
    expect(a).toMatchObject({ codec_name: 'aac', sample_rate: '48000', channels: 1 });
    // nginx's FLV has no stream durations: the decoded sound's length is the judge.
    const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', recorded, '-map', '0:a', '-f', 's16le', '-ac', '1', '-']);
    expect(pcm.length / 2 / 48000).toBeCloseTo(3, 1);
    expect(streamOf(recorded, 'video', true).nb_read_frames).toBe('75');
  });

  test.each([
    ['opus.mkv', { codec: 'libopus', sampleRate: 44100 }, 'opus', 'h264'],
    ['default.webm', { sampleRate: 44100 }, 'opus', 'vp8'],
    ['mp3.mp4', { codec: 'libmp3lame', sampleRate: 44100 }, 'mp3', 'h264'],
    ['mp3.flv', { codec: 'libmp3lame', sampleRate: 44100 }, 'mp3', 'h264'],
  ] as const)('%s: %o gives %s', (name, audio, codec, videoCodec) => {
    const options: WriterOptions = { audio, ...(videoCodec === 'vp8' ? { codec: 'libvpx', preset: undefined } : {}) };
    encodeFile(name, options, byTime(pictures(1), sine({ seconds: 1, sampleRate: 44100 })));
    const a = streamOf(out(name), 'audio');
    expect(a.codec_name).toBe(codec);
    // libopus takes no 44.1 kHz: the nearest rate it takes above.
    expect(a.sample_rate).toBe(codec === 'opus' ? '48000' : '44100');
    expect(streamOf(out(name), 'video').codec_name).toBe(videoCodec);
    const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', out(name), '-map', '0:a', '-f', 's16le', '-ac', '1', '-ar', '48000', '-']);
    expect(pcm.length / 2 / 48000).toBeGreaterThan(0.95);
    expect(pcm.length / 2 / 48000).toBeLessThan(1.1);
  });

  test('audio that starts 200 ms after the pictures keeps its offset (MP4 and FLV start times)', () => {
    for (const name of ['late.mp4', 'late.flv']) {
      encodeFile(name, { audio: {} }, byTime(pictures(2), sine({ seconds: 1.8, start: 0.2 })));
      expect(Number(streamOf(out(name), 'video').start_time)).toBeCloseTo(0, 2);
      // FLV has no edit list: AAC's 1024-sample priming (21 ms) shows there.
      expect(Math.abs(Number(streamOf(out(name), 'audio').start_time) - 0.2)).toBeLessThan(0.025);
    }
  });

  test('a sample rate and layout that change mid-stream are resampled, not refused; s16 too', () => {
    const chunks = [
      ...sine({ seconds: 0.5, sampleRate: 48000, channels: 2 }),
      ...sine({ seconds: 0.5, sampleRate: 44100, channels: 1, start: 0.5, format: 's16' }),
      ...sine({ seconds: 0.5, sampleRate: 22050, channels: 6, start: 1 }),
    ];
    const enc = encodeFile('changes.mkv', { audio: {} }, byTime(pictures(1.5), chunks));
    expect(streamOf(out('changes.mkv'), 'audio')).toMatchObject({ codec_name: 'aac', sample_rate: '48000', channels: 2 });
    const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', out('changes.mkv'), '-map', '0:a', '-f', 's16le', '-ac', '1', '-']);
    expect(pcm.length / 2 / 48000).toBeCloseTo(1.5, 1);
    expect(enc.stats.audioSamples).toBe(24000 + 22050 + 11025);
  });

  test('paced: serveFrameBlock paces sound and pictures on one clock (1 s of both takes 1 s)', async () => {
    await using srv = await Server.open(rtmp.liveUrl('paced-av'), { ...video, audio: {} });
    const started = performance.now();
    for (const item of byTime(pictures(1), sine({ seconds: 1 }))) srv.serveFrameBlock(item);
    const elapsed = performance.now() - started;
    // The last items are due at ~0.98 s after the first.
    expect(elapsed).toBeGreaterThan(940);
    expect(elapsed).toBeLessThan(1300);
    expect(srv.stats.lateFrames).toBe(0);
    expect(Math.abs(srv.lead)).toBeLessThan(0.1);
  });
});

describe('stream copy', () => {
  test('AAC packets copied: ADTS (from an .aac file) into FLV and MP4, and MP4 AAC to nginx-rtmp, beside encoded pictures', async () => {
    const adts = out('sine.aac');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=2', '-c:a', 'aac', '-f', 'adts', adts]);
    const parameters = probeParameters(adts, 'audio');
    expect(parameters.extradata).toBeNull();
    const packets = probePackets(adts, 'audio');
    for (const name of ['copy.flv', 'copy.mp4']) {
      const enc = encodeFile(name, { audio: 'copy', from: { ...video, frameRate: { num: 25, den: 1 }, audio: { parameters } as never } }, byTime(pictures(2), packets as never[]));
      const a = streamOf(out(name), 'audio');
      expect(a).toMatchObject({ codec_name: 'aac', sample_rate: '44100', channels: 1 });
      const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', out(name), '-map', '0:a', '-f', 's16le', '-']);
      expect(pcm.length / 2 / 44100).toBeCloseTo(2, 1);
      expect(enc.stats.audioPackets).toBe(packets.length);
    }
    // MP4's AAC (with its AudioSpecificConfig) to a live server.
    const source = fixture('audio-only.m4a');
    const m4a = probePackets(source, 'audio');
    const srv = await Server.open(rtmp.recordUrl('copy'), { ...video, audio: 'copy', from: { ...video, frameRate: { num: 25, den: 1 }, audio: { parameters: probeParameters(source, 'audio') } as never } });
    for (const item of byTime(pictures(1), m4a)) srv.serveFrame(item as never);
    await srv.close();
    expect(streamOf(await settledFile(rtmp.recordingOf('copy')), 'audio').codec_name).toBe('aac');
    expect(srv.stats.audioPackets).toBe(m4a.length);
  });

  test("video: 'copy': the source's H.264 packets unchanged to nginx-rtmp, paced on the clock, with copied audio", async () => {
    const source = fixture('h264-bframes.mp4');
    const parameters = probeParameters(source, 'video');
    const packets = probePackets(source, 'video');
    expect(packets.length).toBe(75);
    const srv = await Server.open(rtmp.recordUrl('vcopy'), { video: 'copy', from: { width: 320, height: 240, frameRate: { num: 25, den: 1 }, videoParameters: parameters } });
    expect(srv.frameBytes).toBe(0);
    const started = performance.now();
    for (const packet of packets.slice(0, 25)) await srv.serveBlock(packet);
    // 25 packets at 25 fps, due by their decoding times: about 1 s (B-frames: dts starts 2 frames early).
    expect(performance.now() - started).toBeGreaterThan(850);
    for (const packet of packets.slice(25)) srv.serveFrame(packet);
    await srv.close();
    expect(srv.stats).toMatchObject({ frames: 75, packets: 75, keyFrames: 3 });
    const recorded = await settledFile(rtmp.recordingOf('vcopy'));
    expect(streamOf(recorded, 'video', true)).toMatchObject({ codec_name: 'h264', nb_read_frames: '75' });
    // Unchanged: the same pictures as the source, bit for bit.
    const md5 = (file: string) => String(execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-f', 'md5', '-']));
    expect(md5(recorded)).toBe(md5(source));
  });
});

describe('bad sound: a clear error, the writer goes on', () => {
  const tone = (overrides: Partial<AudioFrame>): AudioFrame => ({ ...sine({ seconds: 0.02 })[0], ...overrides });

  test('audio to a writer opened without audio; audio packets to one that encodes; pictures to a video copy', () => {
    using enc = Encoder.openSync(out('noaudio.mp4'), video);
    const error = caught(() => enc.encodeFrame(tone({})));
    expect(error.code).toBe('ERR_INVALID_STATE');
    expect(error.message).toMatch(/opened without audio.*audio: \{ codec: 'aac' \}/);
    enc.encodeFrame(grayFrame(64, 48, 0));
    using aac = Encoder.openSync(out('aac.mp4'), { ...video, audio: {} });
    const packet = { kind: 'audio-packet' as const, data: new Uint8Array(10), pts: 0, dts: 0, duration: 1024, timeBase: { num: 1, den: 48000 }, time: 0, keyFrame: true };
    expect(caught(() => aac.encodeFrame(packet)).message).toMatch(/encodes its audio/);
    const source = fixture('h264-bframes.mp4');
    using copy = Encoder.openSync(out('vcopy.mp4'), { video: 'copy', from: { width: 320, height: 240, frameRate: { num: 25, den: 1 }, videoParameters: probeParameters(source, 'video') } });
    expect(caught(() => copy.encodeFrame(new Uint8Array(320 * 240 * 3))).message).toMatch(/copies its video/);
  });

  test('AudioFrames that lie: not whole samples, wrong format for the data, samples that disagree, absurd rates and channel counts', () => {
    using enc = Encoder.openSync(out('bad-audio.mkv'), { ...video, audio: {} });
    const cases: [Partial<AudioFrame>, string, RegExp][] = [
      [{ data: new Float32Array(101), channels: 2, samples: undefined as never }, 'ERR_BUFFER_SIZE', /whole samples of 2 channels/],
      [{ samples: 999 }, 'ERR_BUFFER_SIZE', /audioFrame\.samples/],
      [{ sampleFormat: 's16' }, 'ERR_INVALID_ARGUMENT', /Int16Array/],
      [{ data: new Int16Array(2048) }, 'ERR_INVALID_ARGUMENT', /Float32Array/],
      [{ sampleFormat: 'f64' as never }, 'ERR_INVALID_ARGUMENT', /sampleFormat/],
      [{ sampleRate: Number.NaN }, 'ERR_INVALID_ARGUMENT', /audioFrame\.sampleRate/],
      [{ sampleRate: 1e9 }, 'ERR_INVALID_ARGUMENT', /from 8000 to 384000/],
      [{ sampleRate: 4000 }, 'ERR_INVALID_ARGUMENT', /audioFrame\.sampleRate/],
      [{ channels: 0 }, 'ERR_INVALID_ARGUMENT', /audioFrame\.channels/],
      [{ channels: 65, data: new Float32Array(65 * 10), samples: 10 }, 'ERR_INVALID_ARGUMENT', /from 1 to 64/],
      [{ time: Number.NaN }, 'ERR_INVALID_ARGUMENT', /audioFrame\.time/],
    ];
    for (const [overrides, code, message] of cases) {
      const error = caught(() => enc.encodeFrame(tone(overrides)));
      expect(error.code, error.message).toBe(code);
      expect(error.message).toMatch(message);
    }
    // The writer goes on.
    for (const item of byTime(pictures(0.2), sine({ seconds: 0.2 }))) enc.encodeFrame(item);
    enc.closeSync();
    expect(streamOf(out('bad-audio.mkv'), 'audio').codec_name).toBe('aac');
  });

  test('codecs: unknown, not an audio encoder, one the container refuses (encoded or copied), unknown audio options', async () => {
    expect(caught(() => Encoder.openSync(out('a.mp4'), { ...video, audio: { codec: 'no-such-codec' } })).code).toBe('ERR_CODEC_NOT_FOUND');
    expect(caught(() => Encoder.openSync(out('a.mp4'), { ...video, audio: { codec: 'libx264' } })).message).toMatch(/not an audio encoder/);
    let error = caught(() => Encoder.openSync(out('opus.flv'), { ...video, audio: { codec: 'libopus' } }));
    expect(error.code).toBe('ERR_UNSUPPORTED');
    expect(error.message).toMatch(/flv container .* does not take opus audio \(libopus\).*codec: 'aac'/);
    await expect(Server.open(rtmp.liveUrl('opus'), { ...video, audio: { codec: 'libopus' } })).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
    const opus = out('opus.mkv');
    encodeFile('opus.mkv', { audio: { codec: 'libopus' } }, byTime(pictures(0.2), sine({ seconds: 0.2 })));
    error = caught(() => Encoder.openSync(out('copy.flv'), { ...video, audio: 'copy', from: { ...video, frameRate: { num: 25, den: 1 }, audio: { parameters: probeParameters(opus, 'audio') } as never } }));
    expect(error.code).toBe('ERR_UNSUPPORTED');
    expect(error.message).toMatch(/Cannot copy opus into flv .*audio: \{ codec: 'aac' \}/);
    expect(caught(() => Encoder.openSync(out('a.mp4'), { ...video, audio: 'copy' })).message).toMatch(/from\.audio\.parameters/);
    expect(caught(() => Encoder.openSync(out('a.mp4'), { ...video, audio: { bitrate: '1M' } as never })).message).toMatch(/'bitrate' for Encoder\.openSync audio; did you mean 'bitRate'/);
    expect(caught(() => Encoder.openSync(out('a.mp4'), { ...video, audio: { sampleRate: 1e6 } })).code).toBe('ERR_INVALID_ARGUMENT');
    expect(caught(() => Encoder.openSync(out('a.mp4'), { ...video, audio: { channels: 0 } })).code).toBe('ERR_INVALID_ARGUMENT');
    expect(caught(() => Encoder.openSync(out('a.mp4'), { ...video, audio: 'aac' as never })).code).toBe('ERR_INVALID_ARGUMENT');
    expect(fs.existsSync(out('a.mp4'))).toBe(false);
  });
});

describe('sync, measured (test/helpers/av-sync.ts)', () => {
  // FLV with B-frames reads 2 frames (80 ms) off in the judge, for the ffmpeg CLI's own output
  // (`ffmpeg -i src -c:v libx264 -preset veryfast -c:a aac out.flv`) as for ours, identical
  // timestamps both: the RTMP push here is without B-frames, the MP4 with them.
  test('flashes and beeps of a source whose sound starts 200 ms late stay together: MP4 and nginx-rtmp, sound encoded and copied', async () => {
    const { flashBeepArgs, measureSync } = await import('./helpers/av-sync');
    const source = out('flash-beep.mp4');
    execFileSync('ffmpeg', ['-v', 'error', ...flashBeepArgs(3, { audioDelay: 0.2 }), source]);
    const sourceOffsets = measureSync(source).offsets.map((o) => o.offset);
    expect(sourceOffsets.length).toBeGreaterThanOrEqual(2);
    using dec = (await import('../lib')).Decoder.openSync(source, { pixelFormat: 'gray' });
    const pictures: import('../lib').Frame[] = [];
    for (let f = dec.extractFrame(); f; f = dec.extractFrame()) pictures.push(f);
    const pcm = ffmpegPcmOf(source);
    const packets = probePackets(source, 'audio');
    const from = { ...dec.info, audio: { parameters: probeParameters(source, 'audio') } as never };
    for (const [name, audio, sound] of [['sync-aac', {}, pcm], ['sync-copy', 'copy', packets]] as const) {
      const items = byTime<{ time: number | null }>(pictures, sound as never[]) as never[];
      const enc = Encoder.openSync(out(`${name}.mp4`), { from, preset: 'veryfast', audio });
      for (const item of items) enc.encodeFrame(item);
      enc.closeSync();
      const srv = await Server.open(rtmp.recordUrl(name), { from, preset: 'veryfast', maxBFrames: 0, audio });
      for (const item of items) srv.serveFrame(item);
      await srv.close();
      for (const file of [out(`${name}.mp4`), await settledFile(rtmp.recordingOf(name))]) {
        const measured = measureSync(file);
        expect(measured.offsets.length, JSON.stringify(measured)).toBe(sourceOffsets.length);
        // The source's offsets (200 ms: the delay) kept within a video frame.
        for (const [i, { offset }] of measured.offsets.entries()) expect(Math.abs(offset - sourceOffsets[i]), file).toBeLessThan(0.04);
      }
    }
  });
});

/**
 * The first audio stream of `file` decoded by the ffmpeg CLI to 48 kHz stereo f32 on the file's
 * timeline (padded from 0 s to its first sample, as the judge reads it), as AudioFrames from 0 s.
 */
function ffmpegPcmOf(file: string): AudioFrame[] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:a:0', '-af', 'aresample=48000:async=1:first_pts=0', '-ac', '2', '-f', 'f32le', '-'], { maxBuffer: 1 << 28 });
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const frames: AudioFrame[] = [];
  for (let first = 0; first * 2 < all.length; first += 1024) {
    const data = all.slice(first * 2, Math.min(all.length, (first + 1024) * 2));
    frames.push({ kind: 'audio', data, sampleFormat: 'f32', sampleRate: 48000, channels: 2, samples: data.length / 2, pts: first, time: first / 48000 });
  }
  return frames;
}
