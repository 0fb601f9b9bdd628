// StreamcoderError: the one error type of the library, its stable codes, and the caller's stack on
// errors that come back from another thread.
/**
 * Every error the library throws or rejects with is a {@link StreamcoderError}: check `code`, a
 * stable string, rather than the message.
 *
 * @example
 * try { await Decoder.open('missing.mp4') } catch (e) {
 *   if (e instanceof StreamcoderError && e.code === 'ERR_NOT_FOUND') console.log('no such file')
 * }
 */
export type ErrorCode =
  | 'ERR_INVALID_ARGUMENT' // a bad option or argument, caught before any work
  | 'ERR_INVALID_OPTION' // a libav option name that no component recognised
  | 'ERR_DIMENSIONS' // a width/height that is negative, zero, absurdly large, or one the encoder refuses (odd, with subsampled chroma)
  | 'ERR_BUFFER_SIZE' // a buffer of the wrong size for the frame
  | 'ERR_LIMIT' // a bound the caller controls was exceeded (maxPixels, maxGopBytes)
  | 'ERR_DETACHED' // a buffer that was detached (transferred) before or during the call that used it
  | 'ERR_PIXEL_FORMAT' // a conversion swscale cannot do
  | 'ERR_NOT_FOUND' // no such file (or HTTP 404)
  | 'ERR_ACCESS' // permission denied
  | 'ERR_INVALID_DATA' // not a media file, or corrupt beyond use
  | 'ERR_NO_VIDEO_STREAM' // the source has no video
  | 'ERR_CODEC_NOT_FOUND' // no decoder/encoder of that name in this FFmpeg
  | 'ERR_FORMAT_NOT_FOUND' // no demuxer/muxer of that name
  | 'ERR_PROTOCOL_NOT_FOUND' // a URL scheme this FFmpeg cannot open
  | 'ERR_CONNECTION_REFUSED' // nothing listens there
  | 'ERR_CONNECTION_LOST' // the peer went away mid-stream
  | 'ERR_PUBLISH_REFUSED' // the server answered and would not take the publish (bad app, stream name taken, auth)
  | 'ERR_RECONNECT_FAILED' // a Server's reconnect ran out of retries
  | 'ERR_TIMEOUT' // no answer within timeoutMs
  | 'ERR_IO' // another input/output error
  | 'ERR_SEEK' // the source cannot seek there
  | 'ERR_END_OF_STREAM'
  | 'ERR_CLOSED' // the object was closed (or closed during the call)
  | 'ERR_NOT_OPEN'
  | 'ERR_BUSY' // another async operation on the same object is still running
  | 'ERR_INVALID_STATE'
  | 'ERR_ABORTED'
  | 'ERR_NO_MEMORY'
  | 'ERR_UNSUPPORTED'
  | 'ERR_FFMPEG' // any other FFmpeg error; see `averror`
  | 'ERR_ADDON_LOAD' // the native addon could not be loaded (the message lists each file tried and the fix)
  | 'ERR_INTERNAL';

export class StreamcoderError extends Error {
  /** A stable identifier of the kind of failure. */
  readonly code: ErrorCode;
  /** FFmpeg's error number (negative) when FFmpeg reported the failure. */
  readonly averror: number | undefined;

  constructor(message: string, code: ErrorCode | string, averror?: number) {
    super(message);
    this.name = 'StreamcoderError';
    this.code = code as ErrorCode;
    this.averror = averror;
  }
}

/**
 * Runs an async native call so that a rejection carries the caller's stack, not an empty one:
 * the stack is captured before the work leaves the JS thread and grafted onto the error.
 */
export async function withCallerStack<T>(call: () => Promise<T>): Promise<T> {
  const trace: { stack?: string } = {};
  Error.captureStackTrace(trace, withCallerStack);
  try {
    return await call();
  } catch (error) {
    if (error instanceof Error && trace.stack) {
      error.stack = `${error.name}: ${error.message}\n${trace.stack.split('\n').slice(1).join('\n')}`;
    }
    throw error;
  }
}
