// Server: a FrameWriter that publishes to a streaming server, paced to real time, reconnecting.
import { FrameWriter, WriterEventRelay, type WriterInput } from './frame-writer';
import { normaliseWriterOptions, type WriterOptions } from './options';

/**
 * Encodes frames and publishes them to a streaming server: `rtsp://` (RTSP ANNOUNCE/RECORD),
 * `rtmp://` (FLV), or any URL libavformat can publish to (`udp://`, `srt://`... as MPEG-TS).
 * Connecting and writing the header happen in `open`, so a server that is not there fails
 * there, with a clear error.
 *
 * It is opened at one size and pixel format (`width`, `height`, `pixelFormat`, or `from`). A
 * `Frame` of another size or any of the `PIXEL_FORMATS` is scaled to them by
 * libswscale (bicubic) inside the native writer, on the thread that encodes (the libuv pool for
 * `serve` and `serveBlock`); one of the open size and format takes today's path, with no
 * conversion. So one Decoder feeds a rendition ladder (below). A bare `Uint8Array` is one packed
 * picture of the open size and format.
 *
 * `serveFrameBlock` paces a fast producer to real time: it waits until the wall clock reaches
 * the frame's presentation time (absolute deadlines from the first frame served, on a
 * monotonic clock: no drift), and never delays a late frame (it is counted in `stats`).
 *
 * With `reconnect`, a server that goes away does not end the push: serving goes on (paced, never
 * catching up in a burst) into a bounded outage buffer while a thread reconnects; events
 * `disconnect`, `reconnect` and `error` and `stats.state` tell how it goes.
 *
 * @example
 * const dec = await Decoder.open('clip.mp4');
 * await using srv = await Server.open('rtmp://127.0.0.1/live/cam', { from: dec.info, preset: 'veryfast' });
 * for await (const frame of dec) await srv.serveBlock(frame);
 *
 * @example
 * // A rendition ladder: the same 1280x720 Frames, scaled for the 640x360 stream.
 * const hd = await Server.open('rtmp://127.0.0.1/live/hd', { from: dec.info });
 * const sd = await Server.open('rtmp://127.0.0.1/live/sd', { from: dec.info, width: 640, height: 360 });
 * for await (const f of dec) { await hd.serveBlock(f); await sd.serveBlock(f); }
 */
export class Server extends FrameWriter {
  /** Connects and writes the header off the event loop. */
  static async open(url: string, options?: WriterOptions): Promise<Server> {
    const normalised = normaliseWriterOptions(url, options, 'Server.open');
    const events = new WriterEventRelay();
    return new Server(await FrameWriter.openHandle(normalised, events), normalised, events);
  }

  /** `open` on this thread (blocking), for worker_threads and scripts. */
  static openSync(url: string, options?: WriterOptions): Server {
    const normalised = normaliseWriterOptions(url, options, 'Server.openSync');
    const events = new WriterEventRelay();
    return new Server(FrameWriter.openHandleSync(normalised, events), normalised, events);
  }

  /**
   * Encodes now and sends every packet that is ready. Never sleeps.
   *
   * `frame`: a `Frame` (or ring slot) of any size (1 to 16384 a side) and any of the
   * `PIXEL_FORMATS`, scaled to the Server's size and format when it differs; a
   * `Uint8Array` of one packed picture of the Server's size and format; an AudioFrame; or a
   * Packet of a copied stream. Throws `ERR_BUFFER_SIZE` when a picture's bytes are not exactly
   * its width x height in its format, `ERR_DIMENSIONS` / `ERR_PIXEL_FORMAT` for a size or format
   * out of bounds, before anything is read.
   */
  serveFrame(frame: WriterInput): void {
    this.writeSync(frame, false);
  }

  /**
   * Waits until the frame is due, then serves it. Returns how late it was served against its
   * deadline, in seconds (microseconds when the producer keeps up).
   */
  serveFrameBlock(frame: WriterInput): number {
    return this.writeSync(frame, true);
  }

  /**
   * `serveFrame` off the event loop, through the queue `Encoder.encode` uses: the item is copied,
   * and encoded and sent in order on the thread pool while the next ones come. Resolves at once
   * while the queue holds fewer than 64 items and 32 MiB, else once it has room again. An item
   * refused in its turn is not sent, the others are, and its error (or the push's end, such as
   * `ERR_PUBLISH_REFUSED`) is thrown by the next call; `close` sends everything queued first.
   */
  serve(frame: WriterInput): Promise<void> {
    return this.enqueue(frame);
  }

  /** `serveFrameBlock` off the event loop (the wait happens on the thread pool). */
  serveBlock(frame: WriterInput): Promise<number> {
    return this.writeAsync(frame, true);
  }

  /** Seconds the served timeline runs ahead of the wall clock (negative when behind). */
  get lead(): number {
    return this.stats.lead;
  }

  /** Half the lead (never negative): mpegCoder's suggested wait before serving more. */
  get waitRef(): number {
    return Math.max(0, this.stats.lead) / 2;
  }
}
