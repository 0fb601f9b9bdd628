// The raw native module (native/js/*.cc), declared by hand. lib/ builds the public API on top of it;
// users never import this. Options arrive here already validated and normalised by lib/.

import type { AudioFrame, CodecParameters, FrameInfo, Frame, MediaItem, Packet, Rational, StreamInfo } from './lib/types';
import type { ClientStats } from './lib/client';
import type { FfmpegLibrary } from './lib/versions';

export interface NativeDecoderOptions {
  source: string;
  pixelFormat: string;
  width: number;
  height: number;
  startTime: number;
  threads: number;
  timeoutMs: number;
  maxPixels: number;
  inputFormat?: string;
  /** A directory everything the input opens must lie in. */
  confineTo?: string;
  formatOptions: Record<string, string>;
  codecOptions: Record<string, string>;
  /** Decoder only: what one readGop may hold. */
  maxGopBytes?: number;
  /** Deliver the video's compressed packets (no decoder). */
  videoCopy?: boolean;
  /** Absent: video only. */
  audio?: NativeAudioOptions;
}

export interface NativeAudioOptions {
  /** The nth audio stream; -1: FFmpeg's best. */
  stream: number;
  copy: boolean;
  /** 0: the source's. */
  sampleRate: number;
  /** 0: the source's. */
  channels: number;
  sampleFormat: 'f32' | 's16';
}

export interface NativeDecoder {
  openSync(): void;
  open(): Promise<void>;
  readonly info: StreamInfo;
  readonly frameBytes: number;
  readonly corruptPackets: number;
  readonly audioCorruptPackets: number;
  readonly audioSkipped: number;
  readonly closed: boolean;
  /** The next item in time order (frames carry kind: 'video'). */
  readItem(): MediaItem | null;
  readItemAsync(): Promise<MediaItem | null>;
  /** A video frame into `target` (its description returned); audio and packets as objects. */
  readItemInto(target: Uint8Array): (FrameInfo & { kind: 'video' }) | AudioFrame | Packet | null;
  readFrame(): Frame | null;
  readFrameAsync(): Promise<Frame | null>;
  readFrameInto(target: Uint8Array): FrameInfo | null;
  readFrameIntoAsync(target: Uint8Array): Promise<FrameInfo | null>;
  readGop(): Frame[] | null;
  readGopAsync(): Promise<Frame[] | null>;
  seek(seconds: number): void;
  close(): void;
}

export interface NativeWriterOptions {
  url: string;
  format?: string;
  width: number;
  height: number;
  frameRateNum: number;
  frameRateDen: number;
  pixelFormat: string;
  codec: string;
  bitRate: number;
  maxBitRate: number;
  bufSize: number;
  gopSize: number;
  maxBFrames: number;
  threads: number;
  preset?: string;
  tune?: string;
  crf: number;
  timeoutMs: number;
  codecOptions: Record<string, string>;
  formatOptions: Record<string, string>;
  /** 'encode' (default) or 'copy' (then videoParameters describes the packets). */
  video?: 'encode' | 'copy';
  videoParameters?: CodecParameters;
  /** Video placement (native/media/media_writer.h): by source time, constant rate by time, or evenly. */
  videoSync?: 'passthrough' | 'constant' | 'retime';
  timeline?: 'strict' | 'continue';
  /** 'none' (default), 'encode' (audioCodec '' or absent: aac, else the container's own) or 'copy'. */
  audio?: 'none' | 'encode' | 'copy';
  audioCodec?: string;
  audioBitRate?: number;
  audioSampleRate?: number;
  audioChannels?: number;
  audioParameters?: CodecParameters;
  /** libx264: follow what the link carries, `bitRate` being the start (native/live/bitrate_controller.h). */
  adaptiveBitRate?: { min: number; max: number };
  /** Network outputs: survive the server going away (native/live/link.h). Absent: off. */
  reconnect?: NativeReconnectOptions;
}

export interface NativeReconnectOptions {
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  outageBufferSeconds: number;
}

/** What the Writer's event listener receives (from the link's thread). */
export type NativeWriterEvent = (
  type: 'disconnect' | 'reconnect' | 'failed' | 'bitrate',
  info: { error?: Error; attempt: number; downtimeMs: number; bitRate?: number; throughput?: number; reason?: 'congestion' | 'recovery' },
) => void;

/** One item for Writer.send: lib/ has checked and normalised it. Times in seconds on the source's timeline. */
export type NativeItem =
  | { kind: 'video'; data: Uint8Array; time: number | null; /** A Frame's own size and format (absent: the open ones); scaled natively when they differ. */ width?: number; height?: number; pixelFormat?: string }
  | { kind: 'audio'; data: Float32Array | Int16Array; sampleFormat: 'f32' | 's16'; sampleRate: number; channels: number; time: number | null }
  | { kind: 'video-packet' | 'audio-packet'; data: Uint8Array; pts: number | null; dts: number | null; duration: number; timeBase: Rational; keyFrame: boolean };

export interface NativeWriterStats {
  frames: number;
  packets: number;
  bytes: number;
  keyFrames: number;
  lateFrames: number;
  droppedFrames: number;
  duplicatedFrames: number;
  audioSamples: number;
  audioPackets: number;
  audioBytes: number;
  bitRate: number;
  fps: number;
  lead: number;
  state: 'connecting' | 'live' | 'reconnecting' | 'closed' | 'failed';
  targetBitRate: number;
  disconnects: number;
  reconnects: number;
  downtimeMs: number;
  outageDroppedFrames: number;
  droppedAudioPackets: number;
}

export interface NativeWriter {
  openSync(): void;
  open(): Promise<void>;
  readonly frameBytes: number;
  readonly stats: NativeWriterStats;
  readonly closed: boolean;
  /**
   * A packed picture at frame slot `pts` (pts / frameRate s on the output timeline). Returns how
   * late (s) the frame was against its deadline when `block` (0 otherwise).
   */
  write(data: Uint8Array, pts: number, block: boolean): number;
  writeAsync(data: Uint8Array, pts: number, block: boolean): Promise<number>;
  /** Any item, placed by its source time (a picture with time null: the next frame slot). */
  send(item: NativeItem, block: boolean): number;
  sendAsync(item: NativeItem, block: boolean): Promise<number>;
  /**
   * Queues any item (copied now) to be written in order on the pool, unpaced. Settles at once
   * while the queue has room (64 items, 32 MiB), else once it has room again. An item the
   * writer refuses is not written (the others are), and its error is thrown by the next call of
   * any kind, whose own item is then not written, or by close. The other writes and close go
   * after what is queued.
   */
  enqueueAsync(item: NativeItem): Promise<void>;
  closeSync(): void;
  close(): Promise<void>;
}

/** One output of a Relay: a Writer's options, and how the relay feeds it. */
export interface NativeRelayOutput {
  writer: NativeWriterOptions;
  /** Each item waits for its deadline (serveFrameBlock). */
  realtime: boolean;
  /** When this output alone holds the others back: lose its oldest pictures ('drop') or hold everyone ('wait'). */
  onSlow: 'drop' | 'wait';
  /** Pictures queued for it at most (2 to 1024). */
  slots: number;
}

export interface NativeRelayOutputStats {
  state: 'starting' | 'running' | 'done' | 'stopped' | 'failed';
  /** Pictures (or video packets) written, its restarts included. */
  frames: number;
  /** Pictures handed out that it did not write (fell behind, was down, skipped to a keyframe). */
  dropped: number;
  consumerWaits: number;
  depth: number;
  maxDepth: number;
  busySeconds: number;
  streamSeconds: number;
  /** ms since the epoch, when its first picture's write began. */
  firstFrameAt: number | null;
  /** Its writer's counters (null before it opened). */
  server: NativeWriterStats | null;
  error: Error | null;
}

export interface NativeRelayStats {
  /** Pictures (or video packets) handed to the outputs. */
  frames: number;
  corruptPackets: number;
  producerWaits: number;
  busySeconds: number;
  /** The reading thread has ended (each output finishes what it has queued after). */
  finished: boolean;
  error: Error | null;
  outputs: NativeRelayOutputStats[];
  /** With fallbacks or a slate: which input is on air and how it got there. */
  input: NativeSwitchStats | null;
}

/** native/media/input_switch.h: inputs that stand in for each other, and a slate. */
export interface NativeFailover {
  fallbacks: NativeDecoderOptions[];
  /** An image (shown still) or a clip (looped); null: a black card. */
  slate: NativeDecoderOptions | null;
  /** No picture for this long (100 to 600000): the input has failed. */
  inputTimeoutMs: number;
  /** Back to an earlier input once it delivers steadily. */
  switchBack: boolean;
  /** Steadily: pictures for this long from a keyframe (0 to 600000). */
  steadyMs: number;
  /** When no input opens at the start: the slate's size on air (0: its own) and frame rate (1 to 240, default 25). */
  startWidth?: number;
  startHeight?: number;
  startFrameRate?: number;
}

export interface NativeSwitchEvent {
  /** Input indexes (0: the primary, then the fallbacks); -1: the slate. */
  from: number;
  to: number;
  reason: string;
  /** ms since the epoch. */
  at: number;
}

export interface NativeSwitchStats {
  /** The input on air (-1: the slate). */
  current: number;
  switches: number;
  /** Seconds on air, per input, the slate last. */
  secondsOn: number[];
  /** The latest 64 switches, oldest first. */
  events: NativeSwitchEvent[];
  /** Switches ever, to tell which events are new. */
  eventCount: number;
}

/** native/js/relay_object.h: one input to several outputs on native threads. */
export interface NativeRelay {
  /** Opens the input on the pool: its description, as a Decoder's info. */
  open(): Promise<StreamInfo>;
  start(outputs: NativeRelayOutput[], options: { maxFrames: number }): void;
  /** A finished output starts again on a fresh writer; false when the input has ended. */
  restartOutput(index: number): boolean;
  /** Reading stops and every output finishes (trailer written). */
  stop(): void;
  /** As stop, and blocked network calls give up. */
  abort(): void;
  readonly stats: NativeRelayStats;
  /** A JPEG of the last picture handed to the outputs, `width` (16 to 1920) wide; null before the first. */
  thumbnail(width: number): Promise<Uint8Array | null>;
  /** Aborts and joins every thread. */
  close(): void;
}

export interface NativeClientOptions extends Omit<NativeDecoderOptions, 'startTime'> {
  cacheSize: number;
  maxCacheBytes: number;
  frameRate: number;
  retries: number;
  backoffMs: number;
}

export interface NativeClient {
  openSync(): void;
  open(): Promise<void>;
  readonly info: StreamInfo;
  start(): void;
  stop(): void;
  newest(n: number): Frame[];
  /** Frames, and AudioFrames when opened with audio, in the order read. */
  next(timeoutMs: number): Frame | AudioFrame | null;
  nextAsync(timeoutMs: number): Promise<Frame | AudioFrame | null>;
  readonly stats: ClientStats;
  readonly running: boolean;
  close(): void;
}

export interface NativeAudioEncoderOptions {
  codec: string;
  /** 0: the encoder's default. */
  bitRate: number;
  sampleRate: number;
  channels: number;
}

/** native/js/audio_encoder_object.h: PCM in, packets out (timestamps in `timeBase`). */
export interface NativeAudioEncoder {
  openSync(): void;
  open(): Promise<void>;
  readonly parameters: CodecParameters;
  readonly timeBase: Rational;
  readonly closed: boolean;
  /** `time` null: the samples follow the last ones. */
  encode(data: Float32Array | Int16Array, sampleFormat: 'f32' | 's16', sampleRate: number, channels: number, time: number | null): Packet[];
  flush(): Packet[];
  close(): void;
}

export interface Binding {
  setErrorClass(errorClass: new (message: string, code: string, averror?: number) => Error): void;
  setLogLevel(level: number): void;
  setLogCallback(callback: ((level: number, line: string) => void) | null): void;
  versions(): { ffmpeg: string; libraries: Record<FfmpegLibrary, { built: string; runtime: string }> };
  /** native/base/redact.cc RedactUrl: every URL in `text` with its secrets masked. */
  redactUrl(text: string): string;
  /** Whether the muxer `url` (or `format`) implies can hold `codec` (output.cc Output::Takes). */
  outputTakes(url: string, format: string, codec: string): boolean;
  /** Whether FFmpeg has an encoder of that name, and of which kind (avcodec_find_encoder_by_name). */
  encoderType(name: string): 'video' | 'audio' | null;
  Decoder: new (options: NativeDecoderOptions) => NativeDecoder;
  Writer: new (options: NativeWriterOptions, onEvent?: NativeWriterEvent) => NativeWriter;
  AudioEncoder: new (options: NativeAudioEncoderOptions) => NativeAudioEncoder;
  Relay: new (options: NativeDecoderOptions, onChange: () => void, source?: { loop?: boolean; failover?: NativeFailover | null }) => NativeRelay;
  Client: new (options: NativeClientOptions, onEvent: (type: 'error' | 'end' | 'reconnect', error: Error | undefined, attempt: number) => void) => NativeClient;
}
