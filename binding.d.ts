// The raw native module (native/*.cc), declared by hand. lib/ builds the public API on top of it;
// users never import this. Options arrive here already validated and normalised by lib/.

import type { FrameInfo, Frame, StreamInfo } from './lib/types';

export interface NativeDecoderOptions {
  source: string;
  pixelFormat: string;
  width: number;
  height: number;
  startTime: number;
  threads: number;
  timeoutMs: number;
  inputFormat?: string;
  formatOptions: Record<string, string>;
  codecOptions: Record<string, string>;
}

export interface NativeDecoder {
  openSync(): void;
  open(): Promise<void>;
  readonly info: StreamInfo;
  readonly frameBytes: number;
  readonly corruptPackets: number;
  readonly closed: boolean;
  readFrame(): Frame | null;
  readFrameAsync(): Promise<Frame | null>;
  readFrameInto(target: Uint8Array): FrameInfo | null;
  readFrameIntoAsync(target: Uint8Array): Promise<FrameInfo | null>;
  readGop(): Frame[] | null;
  readGopAsync(): Promise<Frame[] | null>;
  seek(seconds: number): void;
  close(): void;
}

export interface Binding {
  setErrorClass(errorClass: new (message: string, code: string, averror?: number) => Error): void;
  setLogLevel(level: number): void;
  setLogCallback(callback: ((level: number, line: string) => void) | null): void;
  versions(): Record<'libavformat' | 'libavcodec' | 'libavutil' | 'libswscale' | 'ffmpeg', string>;
  Decoder: new (options: NativeDecoderOptions) => NativeDecoder;
}
