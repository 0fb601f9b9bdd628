// Decoder with sound (issue 11): audio chunks and video frames in one time order, resampling,
// stream selection, stream copy, the frame methods with audio on, and hostile audio options and
// data. ffprobe and the ffmpeg CLI are the judges.
import { describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Decoder, type AudioFrame, type MediaItem, type Packet } from '../lib';
import { native } from '../lib/binding';
import { fixture, tempDir } from './helpers/fixtures';
import { probeFrameCount } from './helpers/ffmpeg-cli';

function probeAudioFrames(file: string, stream = 0): { pts: number; samples: number }[] {
  const out = String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', `a:${stream}`, '-show_entries', 'frame=pts,nb_samples', '-of', 'csv=p=0', file]));
  return out.trim().split('\n').map((line) => {
    const [pts, samples] = line.split(',').map(Number);
    return { pts, samples };
  });
}

function probePackets(file: string, select: string): { pts: number | null; dts: number | null; size: number; key: boolean }[] {
  const out = String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', select, '-show_entries', 'packet=pts,dts,size,flags', '-of', 'csv=p=0', file], { maxBuffer: 64 << 20 }));
  // csv: pts,dts,size,flags (ffprobe's own order); side data adds empty lines.
  return out.trim().split('\n').filter(Boolean).map((line) => {
    const [pts, dts, size, flags] = line.split(',');
    const n = (v: string) => (v === 'N/A' ? null : Number(v));
    return { pts: n(pts), dts: n(dts), size: Number(size), key: flags.startsWith('K') };
  });
}

function items(dec: { extractItem(): MediaItem | null }): MediaItem[] {
  const out: MediaItem[] = [];
  for (let item = dec.extractItem(); item !== null; item = dec.extractItem()) out.push(item);
  return out;
}

const isAudio = (item: MediaItem): item is AudioFrame => item.kind === 'audio';
const timeOf = (item: MediaItem): number => item.time ?? -Infinity;

describe('audio with the pictures', () => {
  test('av.mp4: info.audio, every frame once, chunks matching ffprobe frame for frame, one time order', async () => {
    const file = fixture('av.mp4');
    using dec = Decoder.openSync(file, { audio: true });
    expect(dec.info.audio).toMatchObject({
      codec: 'aac', streamIndex: 1, sampleRate: 48000, channels: 2, channelLayout: 'stereo', sampleFormat: 'fltp',
      timeBase: { num: 1, den: 48000 }, output: { sampleRate: 48000, channels: 2, sampleFormat: 'f32' },
    });
    expect(dec.info.audio!.parameters).toMatchObject({ mediaType: 'audio', codec: 'aac', sampleRate: 48000, channels: 2, frameSize: 1024 });
    const all = items(dec);
    const video = all.filter((i) => i.kind === 'video');
    const audio = all.filter(isAudio);
    expect(video.length).toBe(probeFrameCount(file));
    expect(video.map((f) => (f as { index: number }).index)).toEqual([...Array(video.length).keys()]);
    const probed = probeAudioFrames(file);
    expect(audio.map((a) => [a.pts, a.samples])).toEqual(probed.map((p) => [p.pts, p.samples]));
    for (const a of audio) {
      expect(a.data).toBeInstanceOf(Float32Array);
      expect(a.data.length).toBe(a.samples * 2);
      expect(a.time).toBeCloseTo(a.pts / 48000, 9);
    }
    for (let i = 1; i < all.length; i++) expect(timeOf(all[i])).toBeGreaterThanOrEqual(timeOf(all[i - 1]));
    // Both streams really interleave: audio is not all at one end.
    expect(all.slice(0, 10).some(isAudio) && all.slice(-10).some(isAudio)).toBe(true);

    // The samples are ffmpeg's own (same decoder, no conversion but planar to interleaved).
    const reference = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:a:0', '-f', 'f32le', '-'], { maxBuffer: 64 << 20 });
    const ours = Buffer.concat(audio.map((a) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)));
    expect(ours.length).toBe(reference.length);
    expect(ours.equals(reference)).toBe(true);

    // The async iterator yields the same sequence.
    await using again = await Decoder.open(file, { audio: true });
    const viaAsync: string[] = [];
    for await (const item of again) viaAsync.push(`${item.kind}@${item.time}`);
    expect(viaAsync).toEqual(all.map((item) => `${item.kind}@${item.time}`));
  });

  test('av-offset.mp4: audio that starts 200 ms after the video keeps its place', () => {
    const file = fixture('av-offset.mp4');
    using dec = Decoder.openSync(file, { audio: true });
    const all = items(dec);
    const firstVideo = all.find((i) => i.kind === 'video')!;
    const firstAudio = all.find(isAudio)!;
    const probed = probeAudioFrames(file);
    expect(firstVideo.time).toBe(0);
    expect(firstAudio.pts).toBe(probed[0].pts);
    // 0.2 s less AAC's 1024 priming samples, as ffprobe has it too.
    // 0.2 s less AAC's 1024 priming samples (the mp4 edit list in ms: 0.178 s), as ffprobe has it.
    expect(firstAudio.time).toBeCloseTo(0.2 - 1024 / 48000, 2);
    expect(all.indexOf(firstAudio)).toBeGreaterThan(all.indexOf(firstVideo));
    expect(dec.info.audio!.startTime).toBeCloseTo(firstAudio.time, 3);
  });

  test('av.ts (MPEG-TS, ADTS AAC): the source timeline kept, counts match ffprobe', () => {
    const file = fixture('av.ts');
    using dec = Decoder.openSync(file, { audio: true });
    const all = items(dec);
    const audio = all.filter(isAudio);
    const probed = probeAudioFrames(file);
    expect(audio.length).toBe(probed.length);
    expect(audio.reduce((n, a) => n + a.samples, 0)).toBe(probed.reduce((n, p) => n + p.samples, 0));
    // pts in 1/90000 there, in 1/48000 here: the same instants.
    expect(audio[0].time).toBeCloseTo(probed[0].pts / 90000, 4);
    expect(all.filter((i) => i.kind === 'video').length).toBe(probeFrameCount(file));
    for (let i = 1; i < all.length; i++) expect(timeOf(all[i])).toBeGreaterThanOrEqual(timeOf(all[i - 1]));
  });

  test('44.1 kHz mono resampled to 48 kHz stereo s16: sample count = duration x rate, contiguous chunks', () => {
    const file = fixture('av-44k-mono.mp4');
    const probed = probeAudioFrames(file);
    const sourceSamples = probed.reduce((n, p) => n + p.samples, 0);
    using dec = Decoder.openSync(file, { audio: { sampleRate: 48000, channels: 2, sampleFormat: 's16' } });
    expect(dec.info.audio).toMatchObject({ sampleRate: 44100, channels: 1, output: { sampleRate: 48000, channels: 2, sampleFormat: 's16' } });
    const audio = items(dec).filter(isAudio);
    const total = audio.reduce((n, a) => n + a.samples, 0);
    expect(Math.abs(total - (sourceSamples * 48000) / 44100)).toBeLessThan(48);
    for (const a of audio) {
      expect(a).toMatchObject({ sampleRate: 48000, channels: 2, sampleFormat: 's16' });
      expect(a.data).toBeInstanceOf(Int16Array);
      expect(a.data.length).toBe(a.samples * 2);
    }
    for (let i = 1; i < audio.length; i++) expect(audio[i].pts).toBe(audio[i - 1].pts + audio[i - 1].samples);
    // Mono made stereo: both channels carry the same sound.
    const mid = audio[Math.floor(audio.length / 2)].data;
    for (let i = 0; i < mid.length; i += 2) expect(mid[i]).toBe(mid[i + 1]);
    // The tone is there: a 440 Hz sine of ffmpeg's default amplitude (1/8), in both channels at
    // -3 dB (libswresample's mono to stereo matrix, as the ffmpeg CLI's).
    const peak = Math.max(...Array.from(mid, Math.abs));
    expect(peak).toBeGreaterThan((32768 / 8) * Math.SQRT1_2 * 0.9);
  });

  test('s16 and f32 carry the same sound', () => {
    const file = fixture('av.mp4');
    using f32 = Decoder.openSync(file, { audio: { sampleFormat: 'f32' } });
    using s16 = Decoder.openSync(file, { audio: { sampleFormat: 's16' } });
    const a = items(f32).filter(isAudio);
    const b = items(s16).filter(isAudio);
    expect(b.map((x) => x.pts)).toEqual(a.map((x) => x.pts));
    let worst = 0;
    for (let c = 0; c < a.length; c++) {
      for (let i = 0; i < a[c].data.length; i++) worst = Math.max(worst, Math.abs(a[c].data[i] - b[c].data[i] / 32768));
    }
    expect(worst).toBeLessThan(2 / 32768);
  });

  test('two audio tracks: the first by default, audio.stream picks, out of range names the choices', () => {
    const file = fixture('av-two-tracks.mp4');
    using first = Decoder.openSync(file, { audio: true });
    expect(first.info.audio).toMatchObject({ streamIndex: 1, sampleRate: 48000, channels: 2 });
    using second = Decoder.openSync(file, { audio: { stream: 1 } });
    expect(second.info.audio).toMatchObject({ streamIndex: 2, sampleRate: 44100, channels: 1, output: { sampleRate: 44100, channels: 1 } });
    const audio = items(second).filter(isAudio);
    expect(audio.reduce((n, a) => n + a.samples, 0)).toBe(probeAudioFrames(file, 1).reduce((n, p) => n + p.samples, 0));
    expect(() => Decoder.openSync(file, { audio: { stream: 2 } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/audio\.stream 2 is out of range: .* has 2 audio streams \(0: aac 48000 Hz 2 ch, 1: aac 44100 Hz 1 ch\)/) }),
    );
  });

  test('a source without audio: info.audio null, items are the frames', () => {
    using dec = Decoder.openSync(fixture('h264-bframes.mp4'), { audio: true });
    expect(dec.info.audio).toBeNull();
    const all = items(dec);
    expect(all.length).toBe(75);
    expect(all.every((i) => i.kind === 'video')).toBe(true);
  });
});

describe('the frame methods with audio on', () => {
  const file = fixture('av.mp4');

  test('extractFrame, extractGOP, extractFrameInto, read: the same video, audio dropped and counted', async () => {
    using plain = Decoder.openSync(file);
    const expected: number[] = [];
    for (let f = plain.extractFrame(); f; f = plain.extractFrame()) expected.push(f.index);

    using dec = Decoder.openSync(file, { audio: true });
    const got: number[] = [];
    for (let f = dec.extractFrame(); f; f = dec.extractFrame()) got.push(f.index);
    expect(got).toEqual(expected);
    expect(dec.audioSkipped).toBeGreaterThan(80);  // 94 AAC packets, none kept

    using gop = Decoder.openSync(file, { audio: true });
    const gops: number[] = [];
    for (let g = gop.extractGOP(); g; g = gop.extractGOP()) gops.push(...g.map((f) => f.index));
    expect(gops).toEqual(expected);

    await using async = await Decoder.open(file, { audio: true });
    const buffer = new Uint8Array(async.frameBytes);
    const viaInto: number[] = [];
    for (let i = await async.readInto(buffer); i; i = await async.readInto(buffer)) viaInto.push(i.index);
    expect(viaInto).toEqual(expected);
  });

  test('mixing: items after frame reads go on from there; seek puts both streams at the time', () => {
    using dec = Decoder.openSync(file, { audio: true });
    for (let i = 0; i < 10; i++) dec.extractFrame();
    const rest = items(dec);
    expect(rest.find((i) => i.kind === 'video')!.time).toBeCloseTo(10 / 25, 6);
    expect(rest.filter(isAudio).length).toBeGreaterThan(50);

    dec.seek(1);
    const after = items(dec);
    const video = after.filter((i) => i.kind === 'video');
    const audio = after.filter(isAudio);
    expect(video[0].time).toBeCloseTo(1, 6);
    expect(video.length).toBe(25);
    expect(audio[0].pts).toBe(48000);  // the chunk across 1 s cut at it
    expect(audio.reduce((n, a) => n + a.samples, 0)).toBe(96256 - 48000);
  });

  test('extractItemInto: pictures into the buffer, sound as objects; too small keeps the frame', () => {
    using dec = Decoder.openSync(file, { audio: true });
    // At 0 s the sound comes first (equal times: sound before the picture), and needs no buffer.
    const kinds: string[] = [];
    const small = new Uint8Array(10);
    let refused = false;
    while (!refused) {
      try {
        kinds.push(dec.extractItemInto(small)!.kind);
      } catch (error) {
        expect(error).toMatchObject({ code: 'ERR_BUFFER_SIZE' });
        refused = true;
      }
    }
    expect(kinds).toEqual(['audio']);
    const buffer = new Uint8Array(dec.frameBytes);
    let firstIndex = -1;
    for (let item = dec.extractItemInto(buffer); item; item = dec.extractItemInto(buffer)) {
      kinds.push(item.kind);
      if (item.kind === 'video' && firstIndex < 0) firstIndex = item.index;
    }
    expect(firstIndex).toBe(0);
    expect(kinds.filter((k) => k === 'video').length).toBe(50);
    expect(kinds.filter((k) => k === 'audio').length).toBe(94);
  });
});

describe('stream copy', () => {
  test('video and audio copied: packets as ffprobe -show_packets has them, merged by time', () => {
    const file = fixture('av.mp4');
    using dec = Decoder.openSync(file, { video: 'copy', audio: 'copy' });
    expect(dec.info.videoParameters).toMatchObject({ mediaType: 'video', codec: 'h264', width: 160, height: 120, pixelFormat: 'yuv420p' });
    expect(dec.info.videoParameters.extradata!.length).toBeGreaterThan(10);  // avcC
    expect(dec.info.audio).toMatchObject({ codec: 'aac', output: null, parameters: { codec: 'aac', sampleRate: 48000 } });
    expect(Array.from(dec.info.audio!.parameters.extradata!)).toEqual([0x11, 0x90, 0x56, 0xe5, 0x00]);  // AAC-LC 48 kHz stereo
    expect(() => dec.extractFrame()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    const all = items(dec) as Packet[];
    const shape = (p: Packet) => ({ pts: p.pts, dts: p.dts, size: p.data.length, key: p.keyFrame });
    expect(all.filter((p) => p.kind === 'video-packet').map(shape)).toEqual(probePackets(file, 'v:0'));
    expect(all.filter((p) => p.kind === 'audio-packet').map(shape)).toEqual(probePackets(file, 'a:0'));
    const decodeTime = (p: Packet) => (p.dts! * p.timeBase.num) / p.timeBase.den;
    for (let i = 1; i < all.length; i++) expect(decodeTime(all[i])).toBeGreaterThanOrEqual(decodeTime(all[i - 1]) - 1e-9);
  });

  test('packets the demuxer gives no dts (Matroska with B-frames) get one: in decoding order, never after their pts', () => {
    const { dir, cleanup } = tempDir();
    try {
      const file = path.join(dir, 'bframes.mkv');
      execFileSync('ffmpeg', ['-v', 'error', '-i', fixture('av.mp4'), '-c', 'copy', file]);
      const probed = probePackets(file, 'v:0');
      expect(probed.some((p) => p.dts === null)).toBe(true);  // the case at hand
      using dec = Decoder.openSync(file, { video: 'copy' });
      const video = (items(dec) as Packet[]).filter((p) => p.kind === 'video-packet');
      expect(video.map((p) => p.pts)).toEqual(probed.map((p) => p.pts));
      for (const [i, p] of video.entries()) {
        expect(p.dts, `packet ${i}`).not.toBeNull();
        expect(p.dts!).toBeLessThanOrEqual(p.pts!);
        if (i > 0) expect(p.dts!).toBeGreaterThan(video[i - 1].dts!);
        // Where the demuxer had one, it is kept.
        if (probed[i].dts !== null) expect(p.dts).toBe(probed[i].dts);
      }
    } finally {
      cleanup();
    }
  });

  test('ADTS AAC from MPEG-TS copied beside decoded video', () => {
    const file = fixture('av.ts');
    using dec = Decoder.openSync(file, { audio: { copy: true } });
    const all = items(dec);
    expect(all.filter((i) => i.kind === 'video').length).toBe(50);
    const packets = all.filter((i): i is Packet => i.kind === 'audio-packet');
    expect(packets.map((p) => [p.pts, p.data.length])).toEqual(probePackets(file, 'a:0').map((p) => [p.pts, p.size]));
    expect(packets[0].timeBase).toEqual({ num: 1, den: 90000 });
  });
});

describe('hostile audio options and data', () => {
  const file = fixture('av.mp4');

  test.each([
    [{ sampleRate: Number.NaN }, /audio\.sampleRate/],
    [{ sampleRate: 7999 }, /audio\.sampleRate/],
    [{ sampleRate: 384001 }, /audio\.sampleRate/],
    [{ sampleRate: 44100.5 }, /audio\.sampleRate/],
    [{ channels: 0 }, /audio\.channels/],
    [{ channels: 65 }, /audio\.channels/],
    [{ channels: Infinity }, /audio\.channels/],
    [{ sampleFormat: 'u8' }, /audio\.sampleFormat/],
    [{ stream: -1 }, /audio\.stream/],
    [{ stream: 1.5 }, /audio\.stream/],
    [{ rate: 48000 }, /Unknown option 'rate'/],
    [{ copy: true, sampleRate: 48000 }, /do not apply/],
  ])('audio %o is refused', (audio, message) => {
    expect(() => Decoder.openSync(file, { audio: audio as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(message) }));
  });

  test.each([['yes'], [1], [null]])('audio: %o is refused; so is an unknown video mode', (audio) => {
    expect(() => Decoder.openSync(file, { audio: audio as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => Decoder.openSync(file, { video: 'skip' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  test('a channel count with no standard layout is refused at open, not silenced frame by frame', () => {
    for (const channels of [9, 13, 63]) {
      expect(() => Decoder.openSync(fixture('av.mp4'), { audio: { channels } }), String(channels))
        .toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/no standard layout/) }));
    }
    for (const channels of [1, 6, 8, 16]) {
      using dec = Decoder.openSync(fixture('av.mp4'), { audio: { channels } });
      const sound = items(dec).filter(isAudio);
      expect(sound.length, String(channels)).toBeGreaterThan(80);
      expect(sound.every((a) => a.channels === channels && a.data.length === a.samples * channels)).toBe(true);
      expect(dec.audioCorruptPackets).toBe(0);
    }
  });

  test('the raw binding refuses the same bounds', () => {
    const base = { source: file, pixelFormat: 'rgb24', width: 0, height: 0, startTime: 0, threads: 0, timeoutMs: 0, maxPixels: 1e6, formatOptions: {}, codecOptions: {} };
    const audio = { stream: -1, copy: false, sampleRate: 0, channels: 0, sampleFormat: 'f32' as const };
    for (const bad of [{ sampleRate: 1e12 }, { sampleRate: Number.NaN }, { channels: 1000 }, { sampleFormat: 'dbl' }, { stream: -5 }]) {
      expect(() => new native.Decoder({ ...base, audio: { ...audio, ...bad } as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    }
  });

  test('an audio-only file with audio: true is still ERR_NO_VIDEO_STREAM', () => {
    expect(() => Decoder.openSync(fixture('audio-only.m4a'), { audio: true })).toThrow(expect.objectContaining({ code: 'ERR_NO_VIDEO_STREAM' }));
  });

  test('a corrupt audio stream in a good file: every video frame, the loss counted, no crash', () => {
    const { dir, cleanup } = tempDir();
    try {
      // The bytes of every AAC packet in av.mp4 (where ffprobe says they are) scrambled; the
      // container and the video untouched.
      const mp4 = Buffer.from(fs.readFileSync(file));
      const out = String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'packet=pos,size', '-of', 'csv=p=0', file]));
      let seed = 7;
      for (const line of out.trim().split('\n').filter(Boolean)) {
        const [size, pos] = line.split(',').map(Number);
        for (let i = pos; i < pos + size; i++) {
          seed = (seed * 1103515245 + 12345) >>> 0;
          mp4[i] ^= seed >>> 24;
        }
      }
      const damaged = path.join(dir, 'damaged-audio.mp4');
      fs.writeFileSync(damaged, mp4);
      using dec = Decoder.openSync(damaged, { audio: true });
      const all = items(dec);
      expect(all.filter((i) => i.kind === 'video').length).toBe(50);
      expect(dec.corruptPackets).toBe(0);
      expect(dec.audioCorruptPackets).toBeGreaterThan(10);
      for (const a of all.filter(isAudio)) expect(a.data.length).toBe(a.samples * a.channels);
    } finally {
      cleanup();
    }
  });

  test('a sample-rate change mid-stream (44.1 kHz then 48 kHz ADTS in one TS) is resampled, not an error', () => {
    const { dir, cleanup } = tempDir();
    try {
      const part = (rate: number, offset: number, name: string) => {
        const out = path.join(dir, name);
        execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25:duration=1', '-f', 'lavfi', '-i', `sine=sample_rate=${rate}:duration=1`,
          '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-output_ts_offset', String(offset), '-f', 'mpegts', out]);
        return fs.readFileSync(out);
      };
      const joined = path.join(dir, 'joined.ts');
      fs.writeFileSync(joined, Buffer.concat([part(44100, 0, 'a.ts'), part(48000, 1, 'b.ts')]));
      using dec = Decoder.openSync(joined, { audio: { sampleRate: 48000 } });
      const audio = items(dec).filter(isAudio);
      expect(audio.every((a) => a.sampleRate === 48000)).toBe(true);
      const total = audio.reduce((n, a) => n + a.samples, 0);
      expect(total).toBeGreaterThan(48000 * 1.9);
      expect(total).toBeLessThan(48000 * 2.2);
      expect(dec.audioCorruptPackets).toBe(0);
    } finally {
      cleanup();
    }
  });
});
