// The sound of a pipeline, decided once on the decoding thread: the input's packets copied to
// every output that can hold them, or the input decoded and encoded there once per distinct
// setting, the packets of each encoding tagged in the ring with its stream number so that every
// output takes its own. N outputs of one setting cost one encode, not N.
import { AudioEncoder } from '../audio-encoder';
import { Decoder, type DecoderOptions } from '../decoder';
import { StreamcoderError } from '../errors';
import type { AudioFrame, AudioInfo, Packet } from '../types';
import * as check from '../validate';
import { containerTakes, type AudioOptions } from '../writer/options';

/**
 * What becomes of the input's sound for one output: `auto` copies it where the output's container
 * takes its codec and encodes it otherwise; `copy` must copy; `encode` decodes and encodes with
 * the output's settings; `none` drops it.
 */
export type AudioMode = 'auto' | 'copy' | 'encode' | 'none';

/** What one output asked for the sound: a mode, and the encoder's settings for `encode`. */
export interface OutputAudio {
  mode: AudioMode;
  options: AudioOptions;
}

/** Where the sound's packets come from in the ring. */
export type SoundSource = 'copy' | 'encoded' | 'none';

/** The sound's streams in the ring and each output's choice among them. */
export interface SoundPlan {
  source: SoundSource;
  /** The streams, by the number their packets carry in the ring: the `from.audio` of a Server copying them. */
  streams: AudioInfo[];
  /** For each output (by reader), the stream it writes, or null for none. */
  outputs: (number | null)[];
}

/** Compressed sound is small: this much ring room per stream holds seconds of it. */
export const SOUND_BYTES_PER_STREAM = 256 << 10;

/** The input opened as the outputs' sound needs, and what is in the ring for each. */
export interface OpenedInput {
  decoder: Decoder<never>;
  sound: SoundPlan;
  /** Set when the sound is encoded here: feed it the decoder's AudioFrames. */
  encodings: SoundEncodings | null;
}

/**
 * Opens the input with its sound handled as the outputs ask. Its packets are copied when every
 * output that wants sound can hold their codec (the codec is known only once the input is open);
 * otherwise it is opened again to decode them, and each distinct setting is encoded once (the
 * outputs that asked for none get AAC).
 */
export function openInput(input: string, options: DecoderOptions, outputs: { url: string; format: string; audio: OutputAudio }[]): OpenedInput {
  const modes = outputs.map((o) => o.audio.mode);
  const silent = (decoder: Decoder<never>): OpenedInput => ({ decoder, sound: { source: 'none', streams: [], outputs: outputs.map(() => null) }, encodings: null });
  if (modes.every((m) => m === 'none')) return silent(Decoder.openSync(input, options) as Decoder<never>);
  const copies = modes.filter((m) => m === 'copy').length;
  const encoded = (): OpenedInput => {
    const decoder = Decoder.openSync(input, { ...options, audio: { sampleFormat: 'f32' } }) as Decoder<never>;
    const source = decoder.info.audio;
    if (!source) return silent(decoder);
    try {
      const encodings = new SoundEncodings(source, outputs.map((o) => (o.audio.mode === 'none' ? null : o.audio.options)));
      return { decoder, sound: { source: 'encoded', streams: encodings.streams(), outputs: encodings.outputs }, encodings };
    } catch (error) {
      decoder.close();
      throw error;
    }
  };
  if (modes.includes('encode')) {
    if (copies > 0) throw mixedSound();
    return encoded();
  }
  const decoder = Decoder.openSync(input, { ...options, audio: 'copy' }) as Decoder<never>;
  const source = decoder.info.audio;
  if (source === null) return silent(decoder);
  const codec = source.parameters.codec;
  const takes = outputs.map((o) => o.audio.mode === 'none' || containerTakes(o.url, o.format, codec));
  if (takes.every(Boolean)) {
    return { decoder, sound: { source: 'copy', streams: [source], outputs: modes.map((m) => (m === 'none' ? null : 0)) }, encodings: null };
  }
  decoder.close();
  const refused = outputs.findIndex((o, i) => o.audio.mode === 'copy' && !takes[i]);
  if (refused >= 0) {
    throw new StreamcoderError(
      `Cannot copy the input's ${codec} sound into the container of ${outputs.length > 1 ? `output ${refused}` : 'the output'}: encode it instead (audio: { codec: 'aac' }, or leave audio unset)`,
      'ERR_UNSUPPORTED',
    );
  }
  if (copies > 0) throw mixedSound();
  return encoded();
}

function mixedSound(): StreamcoderError {
  return new StreamcoderError(
    "One pipeline cannot both copy the input's sound to some outputs and encode it for others: give every output audio settings, or leave audio unset to let the pipeline choose",
    'ERR_UNSUPPORTED',
  );
}

/** One encoding's settings, its defaults filled in. */
type Setting = { codec: string; sampleRate: number; channels: number; bitRate?: number };

/** The encoders of a pipeline's sound, one per distinct setting, fed the same decoded frames. */
export class SoundEncodings {
  /** For each output, the stream (encoder) it writes, or null. */
  readonly outputs: (number | null)[];
  readonly #settings: Setting[] = [];
  #encoders: AudioEncoder[] = [];

  constructor(private readonly source: AudioInfo, wanted: (AudioOptions | null)[]) {
    const keys: string[] = [];
    this.outputs = wanted.map((options) => {
      if (options === null) return null;
      // The writer's defaults: AAC at the rate and channels the decoder delivers.
      const setting: Setting = {
        codec: options.codec ?? 'aac',
        sampleRate: options.sampleRate ?? source.output?.sampleRate ?? source.sampleRate,
        channels: options.channels ?? source.output?.channels ?? source.channels,
        ...(options.bitRate !== undefined ? { bitRate: check.bitRate(options.bitRate, 'audio.bitRate') } : {}),
      };
      const key = JSON.stringify([setting.codec, setting.sampleRate, setting.channels, setting.bitRate ?? 0]);
      let index = keys.indexOf(key);
      if (index < 0) {
        index = keys.push(key) - 1;
        this.#settings.push(setting);
      }
      return index;
    });
    this.#open();
  }

  #open(): void {
    const opened: AudioEncoder[] = [];
    try {
      for (const setting of this.#settings) opened.push(AudioEncoder.openSync(setting));
    } catch (error) {
      for (const encoder of opened) encoder.close();
      throw error;
    }
    this.#encoders = opened;
  }

  /** Each stream as a Server's `from.audio` for copying it. */
  streams(): AudioInfo[] {
    return this.#encoders.map((encoder) => encoder.audioInfo(this.source));
  }

  /** The packets of every encoding for this chunk, each tagged with its stream. */
  encode(frame: AudioFrame): (Packet & { stream: number })[] {
    return this.#encoders.flatMap((encoder, stream) => encoder.encode(frame).map((packet) => ({ ...packet, stream })));
  }

  /** The encoders' last packets (the input ended). */
  flush(): (Packet & { stream: number })[] {
    return this.#encoders.flatMap((encoder, stream) => encoder.flush().map((packet) => ({ ...packet, stream })));
  }

  /**
   * The input starts over (a loop): its time goes back to 0, as copied packets' does, and the
   * outputs' timelines carry on over both alike. Fresh encoders of the same settings (the same
   * stream parameters) start from that time; the old ones' tails come first.
   */
  restart(): (Packet & { stream: number })[] {
    const tails = this.flush();
    this.close();
    this.#open();
    return tails;
  }

  close(): void {
    for (const encoder of this.#encoders) encoder.close();
    this.#encoders = [];
  }
}
