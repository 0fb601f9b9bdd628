// AudioEncoder: the source's sound decoded, encoded once, and the same packets written by several
// outputs at once (audio: 'copy'), as a rendition ladder does. ffprobe and the ffmpeg CLI judge
// what was written: codec, rate, channels, bit rate, the audio's duration against the source's,
// and the A/V offset (flashes and beeps, helpers/av-sync). Then every bad input gets its error.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { AudioEncoder, Decoder, Encoder, type AudioEncoderOptions, type MediaItem, type Packet, type WriterOptions } from '../lib';
import { native } from '../lib/binding';
import { flashBeepArgs, measureSync } from './helpers/av-sync';
import { fixture, tempDir } from './helpers/fixtures';
import { sine, streamOf } from './helpers/media';
import { caught } from './helpers/errors';

const { dir, cleanup } = tempDir();
afterAll(cleanup);
const out = (name: string) => path.join(dir, name);


/**
 * Decodes `source` with its sound, encodes the sound once with `audio`, and writes the pictures
 * and the same packets into every file of `names`. Returns the packets.
 */
function fanOut(source: string, audio: AudioEncoderOptions, names: string[], options: Record<string, WriterOptions> = {}): { packets: Packet[]; firstTime: number } {
  using dec = Decoder.openSync(source, { audio: true, pixelFormat: 'yuv420p' });
  using enc = AudioEncoder.openSync(audio);
  const from = enc.streamInfo(dec.info);
  const outputs = names.map((name) => Encoder.openSync(out(name), { from, audio: 'copy', ...(options[name] ?? { preset: 'ultrafast' }) }));
  const packets: Packet[] = [];
  let firstTime = Number.NaN;
  const write = (items: MediaItem[]) => {
    for (const output of outputs) for (const item of items) output.encodeFrame(item);
  };
  for (let item = dec.extractItem(); item !== null; item = dec.extractItem()) {
    if (item.kind === 'audio') {
      if (Number.isNaN(firstTime)) firstTime = item.time;
      const encoded = enc.encode(item);
      packets.push(...encoded);
      write(encoded);
    } else {
      write([item]);
    }
  }
  const tail = enc.flush();
  packets.push(...tail);
  write(tail);
  for (const output of outputs) output.closeSync();
  return { packets, firstTime };
}

/** The first audio stream's packets as ffprobe reads them: start, end (s) and bits per second. */
function audioSpan(file: string): { start: number; end: number; bitRate: number } {
  const probed = JSON.parse(String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pts_time,duration_time,size', '-of', 'json', file])));
  const packets = probed.packets as { pts_time: string; duration_time: string; size: string }[];
  const start = Number(packets[0].pts_time);
  const last = packets[packets.length - 1];
  const end = Number(last.pts_time) + Number(last.duration_time);
  const bytes = packets.reduce((sum, p) => sum + Number(p.size), 0);
  return { start, end, bitRate: (bytes * 8) / (end - start) };
}

const FRAME = 1024 / 48000;

describe('one encode, several outputs', () => {
  test('AAC from the source with 200 ms of audio offset, into MP4, FLV and MPEG-TS at once', () => {
    const source = fixture('av-offset.mp4');
    const names = ['aac.mp4', 'aac.flv', 'aac.ts'];
    const { packets, firstTime } = fanOut(source, { codec: 'aac', bitRate: '128k', sampleRate: 48000, channels: 2 }, names);
    expect(packets.length).toBeGreaterThan(80);
    for (const p of packets) {
      expect(p.kind).toBe('audio-packet');
      expect(p.timeBase).toEqual({ num: 1, den: 48000 });
      expect(p.keyFrame).toBe(true);
      expect(p.time).toBeCloseTo((p.pts as number) / 48000, 9);
    }
    // The first sample at the first AudioFrame's time (about 0.2 s), AAC's 1024 samples of priming before it.
    expect(firstTime).toBeGreaterThan(0.15);
    expect(packets[0].pts).toBe(Math.round(firstTime * 48000) - 1024);

    const src = audioSpan(source);
    const srcVideo = Number(streamOf(source, 'video').start_time);
    for (const name of names) {
      const file = out(name);
      const audio = streamOf(file, 'audio');
      expect([name, audio.codec_name, audio.sample_rate, audio.channels]).toEqual([name, 'aac', '48000', 2]);
      const span = audioSpan(file);
      // As long as the source's sound, within a frame (1024 samples).
      expect(Math.abs(span.end - span.start - (src.end - src.start)), name).toBeLessThan(FRAME + 0.001);
      // The A/V start offset kept: audio starts where the source's does against its video.
      const video = Number(streamOf(file, 'video').start_time);
      expect(Math.abs(span.start - video - (src.start - srcVideo)), name).toBeLessThan(FRAME + 0.001);
      // 128 kb/s asked: a sine costs less than music, but of that order.
      expect(span.bitRate, name).toBeGreaterThan(40_000);
      expect(span.bitRate, name).toBeLessThan(200_000);
    }
  });

  test('the beeps stay with the flashes (200 ms after them) in every output', () => {
    const source = out('flash-beep.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-y', ...flashBeepArgs(3, { audioDelay: 0.2 }), source]);
    const expected = measureSync(source).offsets.map((o) => o.offset);
    expect(expected.length).toBeGreaterThanOrEqual(2);
    expect(Math.abs(expected[0] - 0.2)).toBeLessThan(0.01);
    const names = ['sync.mp4', 'sync.flv', 'sync.ts'];
    fanOut(source, { bitRate: '96k' }, names);
    for (const name of names) {
      // The judge reads an MPEG-TS file's pictures and sound on two timelines (its video from the
      // TS clock, its sound from 0): an MP4 remux of it by the ffmpeg CLI (-c copy) is judged.
      let judged = out(name);
      if (name.endsWith('.ts')) {
        judged = out('sync-ts-remux.mp4');
        execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', out(name), '-c', 'copy', judged]);
      }
      const measured = measureSync(judged).offsets.map((o) => o.offset);
      expect(measured.length, name).toBe(expected.length);
      for (const [i, offset] of measured.entries()) expect(Math.abs(offset - expected[i]), `${name}: ${measured} against ${expected}`).toBeLessThan(0.04);
    }
  });

  test('libopus into Matroska and WebM; 44.1 kHz mono resampled to 48 kHz stereo', () => {
    const source = fixture('av-44k-mono.mp4');
    const vp9: WriterOptions = { codec: 'libvpx-vp9', codecOptions: { deadline: 'realtime', 'cpu-used': 8 } };
    const { packets } = fanOut(source, { codec: 'libopus', bitRate: '64k', sampleRate: 44100, channels: 2 }, ['opus.mkv', 'opus.webm'], { 'opus.webm': vp9 });
    expect(packets[0].timeBase).toEqual({ num: 1, den: 48000 });
    const src = audioSpan(source);
    for (const name of ['opus.mkv', 'opus.webm']) {
      const audio = streamOf(out(name), 'audio');
      expect([name, audio.codec_name, audio.sample_rate, audio.channels]).toEqual([name, 'opus', '48000', 2]);
      const span = audioSpan(out(name));
      expect(Math.abs(span.end - span.start - (src.end - src.start)), name).toBeLessThan(0.021);
    }
  });

  test('libmp3lame into FLV and Matroska', () => {
    const source = fixture('av.mp4');
    fanOut(source, { codec: 'libmp3lame', bitRate: '128k', sampleRate: 44100, channels: 2 }, ['mp3.flv', 'mp3.mkv']);
    const src = audioSpan(source);
    for (const name of ['mp3.flv', 'mp3.mkv']) {
      const audio = streamOf(out(name), 'audio');
      expect([name, audio.codec_name, audio.sample_rate, audio.channels]).toEqual([name, 'mp3', '44100', 2]);
      const span = audioSpan(out(name));
      expect(Math.abs(span.end - span.start - (src.end - src.start)), name).toBeLessThan(1152 / 44100 + 0.001);
      expect(span.bitRate, name).toBeGreaterThan(100_000);
      expect(span.bitRate, name).toBeLessThan(160_000);
    }
  });
});

describe('the encoder alone', () => {
  test('parameters as a Decoder reports a source\'s: codec, rate, channels, bit rate, the global header', async () => {
    const enc = await AudioEncoder.open({ codec: 'aac', bitRate: '128k', sampleRate: 44100, channels: 1 });
    const p = enc.parameters;
    expect(p).toMatchObject({ mediaType: 'audio', codec: 'aac', sampleRate: 44100, channels: 1, channelLayout: 'mono', bitRate: 128_000, frameSize: 1024, timeBase: { num: 1, den: 44100 } });
    // AudioSpecificConfig: AAC LC (2), 44.1 kHz (index 4), mono (1).
    expect(Array.from(p.extradata!.subarray(0, 2))).toEqual([0x12, 0x08]);
    expect(enc.timeBase).toEqual({ num: 1, den: 44100 });
    // Copies: changing them changes nothing.
    p.extradata![0] = 0;
    expect(enc.parameters.extradata![0]).toBe(0x12);
    // The Decoder's own shape for the same stream.
    using dec = Decoder.openSync(fixture('av-44k-mono.mp4'), { audio: 'copy' });
    expect(Object.keys(p).sort()).toEqual(Object.keys(dec.info.audio!.parameters).sort());
    expect(Object.keys(enc.audioInfo()).sort()).toEqual(Object.keys(dec.info.audio!).sort());
    enc.close();
    expect(enc.closed).toBe(true);
  });

  test('packets: timestamps from the first frame\'s time, s16 and f32 alike, gaps filled, flush ends it', () => {
    using enc = AudioEncoder.openSync({ bitRate: 64_000 });
    const first = sine({ seconds: 1, start: 5, format: 's16' });
    const packets = first.flatMap((frame) => enc.encode(frame));
    // A 2 s gap: filled with silence, so the next second's packets are at 8 s and on.
    const second = sine({ seconds: 1, start: 8 });
    const later = second.flatMap((frame) => enc.encode(frame));
    const tail = enc.flush();
    const all = [...packets, ...later, ...tail];
    expect(all[0].pts).toBe(5 * 48000 - 1024);
    for (let i = 1; i < all.length; i++) expect(all[i].pts).toBe((all[i - 1].pts as number) + 1024);
    // Whole frames but the last, which says how many of its samples are sound.
    expect(all.filter((p, i) => (p.duration !== 1024 && i < all.length - 1) || p.dts !== p.pts).map((p) => [p.pts, p.dts, p.duration])).toEqual([]);
    expect(all[all.length - 1].duration).toBeGreaterThan(0);
    // Up to the end of the last sample (9 s), padded to a whole frame.
    const end = (all[all.length - 1].pts as number) + 1024;
    expect(end).toBeGreaterThanOrEqual(9 * 48000 - 1024);
    expect(end).toBeLessThanOrEqual(9 * 48000 + 1024);
    expect(enc.flush()).toEqual([]);
    expect(caught(() => enc.encode(second[0])).code).toBe('ERR_INVALID_STATE');
  });

  test('an overlapping frame loses its overlap', () => {
    using enc = AudioEncoder.openSync({ sampleRate: 48000 });
    const frames = sine({ seconds: 0.5, chunk: 4800 });
    const packets = frames.flatMap((frame) => enc.encode(frame));
    // 100 ms from 0.45 s: its first 50 ms were encoded already and are cut.
    packets.push(...enc.encode({ ...frames[4], time: 0.45 }));
    packets.push(...enc.flush());
    for (let i = 1; i < packets.length; i++) expect(packets[i].pts).toBe((packets[i - 1].pts as number) + 1024);
    const last = packets[packets.length - 1];
    // The sound ends at 0.55 s, to the sample (the last packet's duration counts only sound).
    expect((last.pts as number) + last.duration).toBe(26_400);
  });

  test('the binding refuses samples that are not whole frames of their channels, reading nothing past them', () => {
    const raw = new native.AudioEncoder({ codec: 'aac', bitRate: 0, sampleRate: 48000, channels: 2 });
    raw.openSync();
    expect(caught(() => raw.encode(new Float32Array(3), 'f32', 48000, 2, 0)).code).toBe('ERR_BUFFER_SIZE');
    expect(caught(() => raw.encode(new Int16Array(5), 's16', 48000, 2, 0)).code).toBe('ERR_BUFFER_SIZE');
    expect(caught(() => raw.encode(new Float32Array(4), 's16', 48000, 2, 0)).code).toBe('ERR_INVALID_ARGUMENT');
    const detached = new Float32Array(2048);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(caught(() => raw.encode(detached, 'f32', 48000, 2, 0)).code).toBe('ERR_DETACHED');
    raw.close();
    expect(caught(() => raw.encode(new Float32Array(4), 'f32', 48000, 2, 0)).code).toBe('ERR_CLOSED');
  });

  test('bad options: unknown keys, codecs, rates, channels', () => {
    expect(caught(() => AudioEncoder.openSync({ bitrate: '128k' } as never)).message).toMatch(/Unknown option 'bitrate'.*did you mean 'bitRate'/);
    let error = caught(() => AudioEncoder.openSync({ codec: 'nosuchcodec' }));
    expect(error.code).toBe('ERR_UNSUPPORTED');
    expect(error.message).toMatch(/nosuchcodec/);
    error = caught(() => AudioEncoder.openSync({ codec: 'libx264' }));
    expect([error.code, /libx264/.test(error.message)]).toEqual(['ERR_UNSUPPORTED', true]);
    for (const options of [{ sampleRate: 100 }, { sampleRate: 48000.5 }, { sampleRate: 1e6 }, { channels: 0 }, { channels: 65 }, { bitRate: 'fast' }, { bitRate: -1 }, { codec: '' }, { codec: 'aac\0x' }]) {
      expect(caught(() => AudioEncoder.openSync(options as AudioEncoderOptions)).code, JSON.stringify(options)).toBe('ERR_INVALID_ARGUMENT');
    }
    expect(caught(() => AudioEncoder.openSync('aac' as never)).code).toBe('ERR_INVALID_ARGUMENT');
  });

  test('rejects async open the same way', async () => {
    await expect(AudioEncoder.open({ codec: 'nosuchcodec' })).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED' });
    await expect(AudioEncoder.open({ channels: 99 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  test('bad frames: wrong data length, wrong types; use after close', () => {
    const enc = AudioEncoder.openSync();
    const [frame] = sine({ seconds: 0.1 });
    // Not whole samples of its channels, or not `samples` of them: nothing read past the data.
    expect(caught(() => enc.encode({ ...frame, data: frame.data.subarray(1) })).code).toBe('ERR_BUFFER_SIZE');
    expect(caught(() => enc.encode({ ...frame, samples: frame.samples + 1 })).code).toBe('ERR_BUFFER_SIZE');
    expect(caught(() => enc.encode({ ...frame, data: new Int16Array(frame.data.length) })).code).toBe('ERR_INVALID_ARGUMENT');
    expect(caught(() => enc.encode({ ...frame, sampleRate: 7999 })).code).toBe('ERR_INVALID_ARGUMENT');
    expect(caught(() => enc.encode({ ...frame, channels: 65 })).code).toBe('ERR_INVALID_ARGUMENT');
    expect(caught(() => enc.encode({ ...frame, time: Number.NaN })).code).toBe('ERR_INVALID_ARGUMENT');
    expect(caught(() => enc.encode(null as never)).code).toBe('ERR_INVALID_ARGUMENT');
    expect(enc.encode(frame)).toEqual([]);
    enc.close();
    enc.close();
    expect(caught(() => enc.encode(frame)).code).toBe('ERR_CLOSED');
    expect(caught(() => enc.flush()).code).toBe('ERR_CLOSED');
  });
});
