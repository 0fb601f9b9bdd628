// One entry's meta block: the description of a committed item (a picture's size, format and
// times, a sound chunk's samples, a packet's timestamps), written by the producer when it commits
// and read back by each reader as the item it gets, its bytes a view into the arena.
import type { AudioFrame, FrameInfo, Packet, Rational, SampleFormat } from '../types';
import * as check from '../validate';
import {
  KIND_AUDIO, KIND_AUDIO_PACKET, KIND_FRAME, KIND_VIDEO_PACKET, META_BYTES, META_FORMAT_BYTES, META_FORMAT_OFFSET, META_OFFSET,
  M_BYTES, M_HEIGHT, M_INDEX, M_KEY, M_KIND, M_OFFSET, M_PICT, M_PTS, M_RESERVED, M_STREAM, M_TB_DEN, M_TB_NUM, M_TIME, M_WIDTH,
} from './layout';
import { fail, type RingMemory } from './memory';
import { frameBytes, type CommitInfo, type RingItem } from './types';

const BYTES_PER_SAMPLE: Record<SampleFormat, number> = { f32: 4, s16: 2 };
const KIND_CODES: Record<string, number> = { video: KIND_FRAME, audio: KIND_AUDIO, 'video-packet': KIND_VIDEO_PACKET, 'audio-packet': KIND_AUDIO_PACKET };

/** The room an item was written into: where in the arena, the bytes reserved, the bytes acquired. */
export interface Held {
  offset: number;
  reserved: number;
  bytes: number;
}

/**
 * Checks `info` and writes it into entry `slot`'s meta block for an item in `held`; its kind code.
 * Throws (nothing written that a reader could see) when `info` is not a description of the kind
 * it names or does not fit what was acquired. `sequence` is a frame's index when it gives none.
 */
export function writeMeta(memory: RingMemory, slot: number, info: CommitInfo | undefined, held: Held, sequence: number): number {
  if (info !== undefined && (typeof info !== 'object' || info === null)) throw check.invalid('info', 'a FrameInfo, audio or packet description', info);
  const kind = KIND_CODES[info?.kind ?? 'video'];
  if (kind === undefined) throw check.invalid('info.kind', "'video', 'audio', 'video-packet' or 'audio-packet'", info?.kind);
  const base = slot * (META_BYTES / 8);
  const m = memory.meta;
  m.fill(0, base, base + META_FORMAT_OFFSET / 8);
  let format = '';
  if (kind === KIND_FRAME) {
    const i = (info ?? {}) as Partial<FrameInfo> & { byteLength?: number };
    m[base + M_BYTES] = pictureBytes(i, held.bytes);
    m[base + M_WIDTH] = i.width ?? 0;
    m[base + M_HEIGHT] = i.height ?? 0;
    m[base + M_PTS] = i.pts ?? NaN;
    m[base + M_TIME] = i.time ?? NaN;
    m[base + M_INDEX] = i.index ?? sequence;
    m[base + M_KEY] = i.keyFrame ? 1 : 0;
    m[base + M_PICT] = (i.pictType ?? '?').charCodeAt(0) || 63;
    format = String(i.pixelFormat ?? '');
  } else if (kind === KIND_AUDIO) {
    const i = info as AudioFrame;
    const sampleFormat = check.oneOf(i.sampleFormat, 'info.sampleFormat', ['f32', 's16'] as const);
    const channels = check.integer(i.channels, 'info.channels', 1, 64);
    const samples = check.integer(i.samples, 'info.samples', 0, Number.MAX_SAFE_INTEGER);
    const byteLength = samples * channels * BYTES_PER_SAMPLE[sampleFormat];
    if (byteLength > held.bytes) {
      throw fail('ERR_BUFFER_SIZE', `${samples} samples of ${channels} channels in ${sampleFormat} are ${byteLength} bytes, more than the ${held.bytes} acquired`);
    }
    m[base + M_BYTES] = byteLength;
    m[base + M_WIDTH] = check.integer(i.sampleRate, 'info.sampleRate', 1, 10_000_000);
    m[base + M_HEIGHT] = channels;
    m[base + M_PTS] = check.number(i.pts, 'info.pts', -Number.MAX_VALUE, Number.MAX_VALUE);
    m[base + M_TIME] = check.number(i.time, 'info.time', -Number.MAX_VALUE, Number.MAX_VALUE);
    m[base + M_INDEX] = samples;
    format = sampleFormat;
  } else {
    const i = info as Packet & { byteLength: number; stream?: number };
    const byteLength = check.integer(i.byteLength, 'info.byteLength', 0, held.bytes, 'ERR_BUFFER_SIZE');
    m[base + M_BYTES] = byteLength;
    m[base + M_PTS] = i.pts ?? NaN;
    m[base + M_TIME] = i.time ?? NaN;
    m[base + M_INDEX] = i.dts ?? NaN;
    m[base + M_KEY] = i.keyFrame ? 1 : 0;
    m[base + M_PICT] = i.duration ?? 0;
    const timeBase = i.timeBase as Rational | undefined;
    if (typeof timeBase !== 'object' || timeBase === null) throw check.invalid('info.timeBase', 'a {num, den} object', timeBase);
    m[base + M_TB_NUM] = check.integer(timeBase.num, 'info.timeBase.num', 1, 2 ** 31 - 1);
    m[base + M_TB_DEN] = check.integer(timeBase.den, 'info.timeBase.den', 1, 2 ** 31 - 1);
    m[base + M_STREAM] = i.stream === undefined ? 0 : check.integer(i.stream, 'info.stream', 0, 2 ** 31 - 1);
  }
  m[base + M_KIND] = kind;
  m[base + M_OFFSET] = held.offset;
  m[base + M_RESERVED] = held.reserved;
  writeFormat(memory, slot, format);
  return kind;
}

/** The item entry `slot` describes; `release` is what its `release()` does. */
export function readMeta(memory: RingMemory, slot: number, release: () => void): RingItem {
  const m = memory.meta;
  const base = slot * (META_BYTES / 8);
  const at = memory.dataOffset + m[base + M_OFFSET];
  const bytes = m[base + M_BYTES];
  const pts = m[base + M_PTS];
  const time = m[base + M_TIME];
  const orNull = (value: number) => (Number.isNaN(value) ? null : value);
  switch (m[base + M_KIND]) {
    case KIND_AUDIO: {
      const sampleFormat = readFormat(memory, slot) as SampleFormat;
      const data = sampleFormat === 's16' ? new Int16Array(memory.buffer, at, bytes / 2) : new Float32Array(memory.buffer, at, bytes / 4);
      return { kind: 'audio', slot, data, sampleFormat, sampleRate: m[base + M_WIDTH], channels: m[base + M_HEIGHT], samples: m[base + M_INDEX], pts, time, release };
    }
    case KIND_VIDEO_PACKET:
    case KIND_AUDIO_PACKET:
      return {
        kind: m[base + M_KIND] === KIND_VIDEO_PACKET ? 'video-packet' : 'audio-packet',
        slot,
        data: new Uint8Array(memory.buffer, at, bytes),
        pts: orNull(pts),
        dts: orNull(m[base + M_INDEX]),
        duration: m[base + M_PICT],
        timeBase: { num: m[base + M_TB_NUM], den: m[base + M_TB_DEN] },
        time: orNull(time),
        keyFrame: m[base + M_KEY] === 1,
        stream: m[base + M_STREAM],
        release,
      };
    default:
      return {
        kind: 'video',
        slot,
        data: new Uint8Array(memory.buffer, at, bytes),
        width: m[base + M_WIDTH],
        height: m[base + M_HEIGHT],
        pixelFormat: readFormat(memory, slot),
        pts: orNull(pts),
        time: orNull(time),
        index: m[base + M_INDEX],
        keyFrame: m[base + M_KEY] === 1,
        pictType: String.fromCharCode(m[base + M_PICT]),
        release,
      };
  }
}

/** A frame's own bytes: given, implied by its size and format, or else the whole room acquired. */
function pictureBytes(info: Partial<FrameInfo> & { byteLength?: number }, held: number): number {
  let bytes = held;
  if (info.byteLength !== undefined) {
    bytes = check.integer(info.byteLength, 'info.byteLength', 0, Number.MAX_SAFE_INTEGER, 'ERR_BUFFER_SIZE');
  } else if (info.width !== undefined && info.height !== undefined) {
    bytes = frameBytes(info.width, info.height, info.pixelFormat ?? 'rgb24');
  }
  if (bytes > held) {
    throw fail('ERR_BUFFER_SIZE', `A frame of ${bytes} bytes does not fit a ring slot of ${held} bytes`);
  }
  return bytes;
}

function writeFormat(memory: RingMemory, slot: number, name: string): void {
  const format = name.slice(0, META_FORMAT_BYTES - 1);
  const at = META_OFFSET + slot * META_BYTES + META_FORMAT_OFFSET;
  for (let k = 0; k < META_FORMAT_BYTES; k++) memory.bytes[at + k] = k < format.length ? format.charCodeAt(k) & 0x7f : 0;
}

function readFormat(memory: RingMemory, slot: number): string {
  const at = META_OFFSET + slot * META_BYTES + META_FORMAT_OFFSET;
  let name = '';
  for (let k = 0; k < META_FORMAT_BYTES && memory.bytes[at + k] !== 0; k++) name += String.fromCharCode(memory.bytes[at + k]);
  return name;
}
