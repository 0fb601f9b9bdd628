// AudioEncoder: PCM in, compressed audio Packets out, on its own (not inside a Server or Encoder),
// for a caller that muxes or sends the packets itself.
// Kept in the .d.ts: the published types compile whatever the user's `types` and `lib` say.
/// <reference lib="esnext.disposable" preserve="true" />
import type { NativeAudioEncoder, NativeAudioEncoderOptions } from '../binding';
import { native } from './binding';
import { StreamcoderError } from './errors';
import { checkAudioFrame } from './writer/frame-writer';
import { openHandle, openHandleSync } from './open-handle';
import type { AudioFrame, AudioInfo, CodecParameters, Packet, Rational, StreamInfo } from './types';
import * as check from './validate';
import { AUDIO_OPTION_KEYS, type AudioOptions } from './writer/options';

/**
 * What {@link AudioEncoder.open} takes: the same as a Server's or Encoder's `audio` option.
 * Defaults: `aac`, the encoder's bit rate, 48000 Hz, 2 channels (the nearest the encoder takes:
 * libopus makes 44100 48000, libmp3lame takes at most stereo; `parameters` says what it took).
 */
export type AudioEncoderOptions = AudioOptions;

function normalise(options: AudioEncoderOptions | undefined, where: string): NativeAudioEncoderOptions {
  const o = check.optionsObject(options);
  check.knownOptions(o, AUDIO_OPTION_KEYS, where);
  return {
    codec: o.codec === undefined ? 'aac' : check.string(o.codec, 'codec'),
    bitRate: o.bitRate === undefined ? 0 : check.bitRate(o.bitRate, 'bitRate'),
    sampleRate: o.sampleRate === undefined ? 48_000 : check.integer(o.sampleRate, 'sampleRate', check.MIN_SAMPLE_RATE, check.MAX_SAMPLE_RATE),
    channels: o.channels === undefined ? 2 : check.integer(o.channels, 'channels', 1, check.MAX_CHANNELS),
  };
}

/**
 * Encodes sound once into compressed packets that any number of Servers and Encoders can then
 * write as they are (`audio: 'copy'`): one AAC encode for every rung of a rendition ladder.
 * AudioFrames of any rate, layout and sample format are resampled to the encoder's. Packets
 * carry `pts`/`dts`/`duration` in {@link AudioEncoder.timeBase} (samples at the encoder's rate)
 * and `time` in seconds on the input's timeline: the first AudioFrame's `time` is where its
 * first sample goes (AAC's packets start 1024 samples earlier: the encoder's priming, which the
 * containers record), so an audio stream that starts after the video still does. A later frame
 * that leaves a gap is preceded by silence (up to 10 s; beyond, the timestamps jump); one that
 * overlaps loses the overlap.
 *
 * The outputs take the packets with `from: enc.streamInfo(decoder.info)`, `audio: 'copy'`.
 *
 * @example
 * await using dec = await Decoder.open('show.mp4', { audio: true });
 * using aac = await AudioEncoder.open({ codec: 'aac', bitRate: '128k' });
 * const from = aac.streamInfo(dec.info);
 * await using a = await Encoder.open('a.mp4', { from, audio: 'copy' });
 * await using b = await Encoder.open('b.flv', { from, audio: 'copy' });
 * for await (const item of dec) {
 *   const items = item.kind === 'audio' ? aac.encode(item) : [item];
 *   for (const out of items) { await a.encode(out); await b.encode(out); }
 * }
 * for (const packet of aac.flush()) { await a.encode(packet); await b.encode(packet); }
 */
export class AudioEncoder implements Disposable {
  readonly #native: NativeAudioEncoder;
  readonly #parameters: CodecParameters;
  readonly #timeBase: Rational;
  #startTime: number | null = null;

  private constructor(handle: NativeAudioEncoder) {
    this.#native = handle;
    // Fixed once open (the global header included): read once.
    this.#parameters = handle.parameters;
    this.#timeBase = handle.timeBase;
  }

  /**
   * Opens the encoder off the event loop. An encoder this FFmpeg lacks (or a video one) is
   * `ERR_UNSUPPORTED`; bad options `ERR_INVALID_ARGUMENT`.
   */
  static async open(options?: AudioEncoderOptions): Promise<AudioEncoder> {
    const normalised = normalise(options, 'AudioEncoder.open');
    return new AudioEncoder(await openHandle(new native.AudioEncoder(normalised), (h) => h.close()));
  }

  /** Opens the encoder on this thread (blocking). */
  static openSync(options?: AudioEncoderOptions): AudioEncoder {
    const normalised = normalise(options, 'AudioEncoder.openSync');
    return new AudioEncoder(openHandleSync(new native.AudioEncoder(normalised), (h) => h.close()));
  }

  /**
   * The packets' stream as `StreamInfo.audio.parameters` describes a source's: FFmpeg's codec
   * name (`aac`, `opus`, `mp3`), the rate, channels and bit rate the encoder took, and its global
   * header (`extradata`: AAC's AudioSpecificConfig, Opus's OpusHead) that FLV, MP4 and Matroska
   * need. A copy: changing it changes nothing.
   */
  get parameters(): CodecParameters {
    const p = this.#parameters;
    return { ...p, extradata: p.extradata && new Uint8Array(p.extradata), timeBase: { ...this.#timeBase }, sampleAspectRatio: { ...p.sampleAspectRatio } };
  }

  /** The time base of the packets' `pts`, `dts` and `duration`: 1 / the encoder's sample rate. */
  get timeBase(): Rational {
    return { ...this.#timeBase };
  }

  /**
   * The packets as a source's audio is described ({@link StreamInfo.audio}); `base` (the source's
   * own audio info) lends its stream index. `startTime` is the first packet's time once there is one.
   */
  audioInfo(base?: AudioInfo | null): AudioInfo {
    const p = this.parameters;
    return {
      codec: p.codec,
      streamIndex: base?.streamIndex ?? 0,
      sampleRate: p.sampleRate,
      channels: p.channels,
      channelLayout: p.channelLayout,
      sampleFormat: p.sampleFormat,
      bitRate: p.bitRate > 0 ? p.bitRate : null,
      timeBase: this.timeBase,
      startTime: this.#startTime,
      output: null,
      parameters: p,
    };
  }

  /**
   * `info` (a Decoder's) with its audio replaced by these packets': the `from` of the Servers and
   * Encoders that write them with `audio: 'copy'`.
   */
  streamInfo(info: StreamInfo): StreamInfo {
    if (typeof info !== 'object' || info === null) throw check.invalid('info', "a StreamInfo (a Decoder's info)", info);
    return { ...info, audio: this.audioInfo(info.audio) };
  }

  get closed(): boolean {
    return this.#native.closed;
  }

  /**
   * Encodes one AudioFrame (f32 or s16, interleaved, any rate and channel count) and returns the
   * packets that are ready: none while the encoder fills a frame (AAC: 1024 samples) or looks
   * ahead, several for a long AudioFrame. After `flush`: `ERR_INVALID_STATE`; after `close`:
   * `ERR_CLOSED`. Data that is not whole samples of its channels: `ERR_BUFFER_SIZE`.
   */
  encode(frame: AudioFrame): Packet[] {
    if (this.#native.closed) throw new StreamcoderError('The audio encoder is closed', 'ERR_CLOSED');
    const item = checkAudioFrame(frame);
    return this.#taken(this.#native.encode(item.data, item.sampleFormat, item.sampleRate, item.channels, item.time));
  }

  /** What the encoder still holds, as packets; the end of the stream. Again: `[]`. */
  flush(): Packet[] {
    return this.#taken(this.#native.flush());
  }

  /** Frees the encoder (what it still holds is dropped: `flush` first). Idempotent. */
  close(): void {
    this.#native.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #taken(packets: Packet[]): Packet[] {
    if (this.#startTime === null && packets.length > 0) this.#startTime = packets[0].time;
    return packets;
  }
}
