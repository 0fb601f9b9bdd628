// The plain data the API passes around: rationals, pixel and sample formats, frames, sound, packets,
// stream descriptions.
/** A rational number, as FFmpeg keeps rates and time bases: `num / den`. */
export interface Rational {
  num: number;
  den: number;
}

/** The pixel formats frames can be delivered in (and pushed from). All are tightly packed. */
export const PIXEL_FORMATS = ['rgb24', 'bgr24', 'rgba', 'bgra', 'gray', 'yuv420p'] as const;
export type PixelFormat = (typeof PIXEL_FORMATS)[number];

/** What a Decoder (or Client) knows about the video it reads. */
export interface StreamInfo {
  /** Decoder name, e.g. `h264`, `hevc`, `vp9`. */
  codec: string;
  /** Container/demuxer name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `flv`, `rtsp`. */
  format: string;
  /** Size of the frames delivered (after scaling). */
  width: number;
  height: number;
  /** Pixel format of the frames delivered: always one of {@link PIXEL_FORMATS}. */
  pixelFormat: PixelFormat;
  /** Size and pixel format of the video in the source (any FFmpeg name, e.g. `yuvj420p`). */
  sourceWidth: number;
  sourceHeight: number;
  sourcePixelFormat: string;
  /** Index of the video stream in the container. */
  streamIndex: number;
  /** Average frame rate; `{num: 0, den: 1}` if unknown. */
  frameRate: Rational;
  /** The stream's time base: `pts * num / den` is seconds. */
  timeBase: Rational;
  /** Time of the first frame in seconds, or null. */
  startTime: number | null;
  /** Seconds; the container's duration when the stream has none; null if unknown. */
  duration: number | null;
  /** Frames in the stream (from the container, else estimated from duration), or null. */
  frameCount: number | null;
  /** Bits per second, or null if unknown. */
  bitRate: number | null;
  /**
   * The audio stream the Decoder (or Client) reads, as the source has it; null when it was not
   * asked for (`audio: false`, the default) or the source has none.
   */
  audio: AudioInfo | null;
  /** The source's video stream as a stream copy needs it (see {@link CodecParameters}). */
  videoParameters: CodecParameters;
}

/** The sample formats audio is delivered in (and taken from): interleaved, native endian. */
export const SAMPLE_FORMATS = ['f32', 's16'] as const;
export type SampleFormat = (typeof SAMPLE_FORMATS)[number];

/** What a Decoder knows about the audio it reads (the source's, before any conversion). */
export interface AudioInfo {
  /** Decoder name, e.g. `aac`, `opus`, `mp3`. */
  codec: string;
  /** Index of the audio stream in the container. */
  streamIndex: number;
  sampleRate: number;
  channels: number;
  /** FFmpeg's name of the layout, e.g. `stereo`, `mono`, `5.1`. */
  channelLayout: string;
  /** FFmpeg's name of the source's sample format, e.g. `fltp`, `s16`. */
  sampleFormat: string;
  /** Bits per second, or null if unknown. */
  bitRate: number | null;
  timeBase: Rational;
  /** Time of the first sample in seconds, or null. */
  startTime: number | null;
  /**
   * Rate, channels and format of the AudioFrames delivered (after libswresample); null with
   * `audio: 'copy'` (packets, not samples, are delivered).
   */
  output: { sampleRate: number; channels: number; sampleFormat: SampleFormat } | null;
  /** The stream as a stream copy needs it. */
  parameters: CodecParameters;
}

/**
 * A stretch of decoded sound: `samples` samples of `channels` channels, interleaved, in
 * `sampleFormat`. Its `time` is on the same timeline as the video Frames' `time` (the source's).
 */
export interface AudioFrame {
  kind: 'audio';
  data: Float32Array | Int16Array;
  sampleFormat: SampleFormat;
  sampleRate: number;
  channels: number;
  /** Samples per channel: `data.length / channels`. */
  samples: number;
  /** Position of the first sample in 1/sampleRate units, from the start of the source's timeline. */
  pts: number;
  /** Seconds on the source's timeline. */
  time: number;
}

/**
 * A compressed packet as the source has it (stream copy): `data` is one access unit of
 * `parameters.codec`; timestamps in `timeBase`.
 */
export interface Packet {
  kind: 'video-packet' | 'audio-packet';
  data: Uint8Array;
  /** Presentation and decoding timestamps in `timeBase`, or null. */
  pts: number | null;
  dts: number | null;
  /** In `timeBase`; 0 if unknown. */
  duration: number;
  timeBase: Rational;
  /** Presentation time in seconds on the source's timeline, or null. */
  time: number | null;
  keyFrame: boolean;
}

/**
 * A stream's codec and FFmpeg's codec parameters (AVCodecParameters) as plain data, so that they
 * cross worker threads and reach a Server or Encoder that copies the stream.
 */
export interface CodecParameters {
  mediaType: 'video' | 'audio';
  /** FFmpeg codec name, e.g. `h264`, `aac`. */
  codec: string;
  codecTag: number;
  /** The codec's global header (SPS/PPS, AudioSpecificConfig...), or null. */
  extradata: Uint8Array | null;
  profile: number;
  level: number;
  bitRate: number;
  /** Video: size, pixel format, sample aspect ratio. 0 / '' for audio. */
  width: number;
  height: number;
  pixelFormat: string;
  sampleAspectRatio: Rational;
  /** Audio: rate, channels and layout, sample format, samples per frame. 0 / '' for video. */
  sampleRate: number;
  channels: number;
  channelLayout: string;
  sampleFormat: string;
  frameSize: number;
  /** Time base of the packets' timestamps. */
  timeBase: Rational;
}

/** Everything about a decoded frame but its pixels. */
export interface FrameInfo {
  width: number;
  height: number;
  /** One of {@link PIXEL_FORMATS}: the format the Decoder or Client was opened with. */
  pixelFormat: PixelFormat;
  /** Presentation timestamp in the stream's time base, or null if the source had none. */
  pts: number | null;
  /** Presentation time in seconds (`pts * timeBase`), or null. */
  time: number | null;
  /** 0-based position of the frame in presentation order, from its timestamp. */
  index: number;
  keyFrame: boolean;
  /** `I`, `P`, `B`, ... or `?`. */
  pictType: string;
}

/** A decoded picture: `data` holds `height` rows, tightly packed, plane after plane. */
export interface Frame extends FrameInfo {
  /** Tells a Frame from an AudioFrame or a Packet where a Decoder yields them together. */
  kind?: 'video';
  data: Uint8Array;
}

/** What a Decoder opened with audio or stream copy yields, in presentation order. */
export type MediaItem = Frame | AudioFrame | Packet;
