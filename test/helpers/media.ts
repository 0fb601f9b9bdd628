// Sound and compressed packets for the output tests, made without the library's own reading side:
// sines synthesized here, PCM from the ffmpeg CLI, packets and codec parameters read by ffprobe
// (`-show_packets -show_data`, `-show_streams -show_data`), and ffprobe's view of what was written.
import { execFileSync } from 'node:child_process';
import type { AudioFrame, CodecParameters, Packet, Rational } from '../../lib/types';

/** `seconds` of a sine at `frequency` Hz as AudioFrames of `chunk` samples, starting at `start` s. */
export function sine(options: { seconds: number; sampleRate?: number; channels?: number; start?: number; chunk?: number; frequency?: number; format?: 'f32' | 's16' }): AudioFrame[] {
  const { seconds, sampleRate = 48000, channels = 2, start = 0, chunk = 1024, frequency = 440, format = 'f32' } = options;
  const total = Math.round(seconds * sampleRate);
  const frames: AudioFrame[] = [];
  for (let first = 0; first < total; first += chunk) {
    const samples = Math.min(chunk, total - first);
    const data = format === 'f32' ? new Float32Array(samples * channels) : new Int16Array(samples * channels);
    for (let i = 0; i < samples; i++) {
      const value = 0.5 * Math.sin((2 * Math.PI * frequency * (first + i)) / sampleRate);
      for (let c = 0; c < channels; c++) data[i * channels + c] = format === 'f32' ? value : Math.round(value * 32767);
    }
    const pts = Math.round(start * sampleRate) + first;
    frames.push({ kind: 'audio', data, sampleFormat: format, sampleRate, channels, samples, pts, time: pts / sampleRate });
  }
  return frames;
}

/** PCM from the ffmpeg CLI (a 440 Hz sine, `-f f32le`) cut into AudioFrames of `chunk` samples. */
export function ffmpegPcm(seconds: number, sampleRate: number, channels: number, chunk = 1000): AudioFrame[] {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${sampleRate}:duration=${seconds}`, '-ac', String(channels), '-f', 'f32le', '-']);
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const frames: AudioFrame[] = [];
  for (let first = 0; first * channels < all.length; first += chunk) {
    const data = all.slice(first * channels, Math.min(all.length, (first + chunk) * channels));
    frames.push({ kind: 'audio', data, sampleFormat: 'f32', sampleRate, channels, samples: data.length / channels, pts: first, time: first / sampleRate });
  }
  return frames;
}

/** Items of several streams merged in time order (as a Decoder yields them). */
export function byTime<T extends { time: number | null }>(...streams: T[][]): T[] {
  return streams.flat().sort((a, b) => (a.time ?? 0) - (b.time ?? 0));
}

/** A gray picture of `width` x `height` (packed gray bytes), as a Frame at `time`. */
export function grayFrame(width: number, height: number, time: number | null, shade = 128) {
  return { data: new Uint8Array(width * height).fill(shade), width, height, pixelFormat: 'gray' as const, pts: null, time, index: 0, keyFrame: false, pictType: '?' };
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  sample_rate?: string;
  channels?: number;
  start_time?: string;
  duration?: string;
  nb_read_frames?: string;
  time_base: string;
}

/** ffprobe's streams of a file (frames counted when `count`). */
export function probeStreams(file: string, count = false): ProbedStream[] {
  const args = ['-v', 'error', ...(count ? ['-count_frames'] : []), '-show_entries', 'stream=codec_type,codec_name,sample_rate,channels,start_time,duration,nb_read_frames,time_base', '-of', 'json', file];
  return JSON.parse(String(execFileSync('ffprobe', args))).streams;
}

export function streamOf(file: string, type: 'audio' | 'video', count = false): ProbedStream {
  const stream = probeStreams(file, count).find((s) => s.codec_type === type);
  if (!stream) throw new Error(`no ${type} stream in ${file}`);
  return stream;
}

/** Presentation times (s) of the decoded frames of the first video stream. */
export function frameTimes(file: string): number[] {
  const out = JSON.parse(String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'json', file])));
  return out.frames.map((f: { pts_time: string }) => Number(f.pts_time));
}

/** The bytes of an ffprobe hexdump (`00000000: fff1 5040 ...  ascii`). */
function hexData(dump: string): Uint8Array {
  const hex = dump.split('\n').filter(Boolean).map((line) => line.slice(10, 49).replace(/ /g, '')).join('');
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16));
}

function rational(text: string): Rational {
  const [num, den] = text.split('/').map(Number);
  return { num, den };
}

const AAC_PROFILES: Record<string, number> = { Main: 0, LC: 1, SSR: 2, LTP: 3, 'HE-AAC': 4 };

/** The first stream of `type` as a stream copy needs it (ffprobe -show_streams -show_data). */
export function probeParameters(file: string, type: 'audio' | 'video'): CodecParameters {
  const out = JSON.parse(String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', type[0], '-show_streams', '-show_data', '-of', 'json', file])));
  const s = out.streams[0];
  return {
    mediaType: type,
    codec: s.codec_name,
    codecTag: 0,
    extradata: s.extradata && hexData(s.extradata).length > 0 ? hexData(s.extradata) : null,
    profile: type === 'audio' ? (AAC_PROFILES[s.profile] ?? -99) : -99,
    level: s.level ?? -99,
    bitRate: Number(s.bit_rate ?? 0),
    width: s.width ?? 0,
    height: s.height ?? 0,
    pixelFormat: s.pix_fmt ?? '',
    sampleAspectRatio: { num: 0, den: 1 },
    sampleRate: Number(s.sample_rate ?? 0),
    channels: s.channels ?? 0,
    channelLayout: s.channel_layout ?? '',
    sampleFormat: s.sample_fmt ?? '',
    frameSize: 0,
    timeBase: rational(s.time_base),
  };
}

/** Every packet of the first stream of `type`, in file (decoding) order, as Packets. */
export function probePackets(file: string, type: 'audio' | 'video'): Packet[] {
  const timeBase = probeParameters(file, type).timeBase;
  const out = JSON.parse(String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', type[0], '-show_packets', '-show_data', '-of', 'json', file], { maxBuffer: 256 << 20 })));
  return out.packets.map((p: { pts?: number; dts?: number; duration?: number; flags: string; data: string }) => ({
    kind: type === 'audio' ? 'audio-packet' : 'video-packet',
    data: hexData(p.data),
    pts: p.pts ?? null,
    dts: p.dts ?? null,
    duration: p.duration ?? 0,
    timeBase,
    time: p.pts === undefined ? null : (p.pts * timeBase.num) / timeBase.den,
    keyFrame: p.flags.startsWith('K'),
  }));
}
