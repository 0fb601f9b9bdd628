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
  data: Uint8Array;
}
