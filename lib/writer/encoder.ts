// Encoder: a FrameWriter that writes a file, as fast as it is fed.
import { FrameWriter, WriterEventRelay, type WriterInput } from './frame-writer';
import { normaliseWriterOptions, type WriterOptions } from './options';

/**
 * Encodes frames into a file; the container comes from the file name (`.mp4`, `.mkv`, `.ts`,
 * `.flv`, ...) or the `format` option. Same options as {@link Server}, and the same inputs: a
 * `Frame` of another size or pixel format than the Encoder's is scaled to it (libswscale,
 * bicubic, on the thread that encodes); a bare `Uint8Array` is one picture of the open size and
 * format.
 *
 * @example
 * const dec = await Decoder.open('in.mp4');
 * const enc = await Encoder.open('out.mp4', { from: dec.info, codec: 'libx264', crf: 20 });
 * for await (const frame of dec) await enc.encode(frame);
 * await enc.close();   // flushes the encoder and writes the trailer
 */
export class Encoder extends FrameWriter {
  static async open(path: string, options?: WriterOptions): Promise<Encoder> {
    const normalised = normaliseWriterOptions(path, options, 'Encoder.open');
    const events = new WriterEventRelay();
    return new Encoder(await FrameWriter.openHandle(normalised, events), normalised, events);
  }

  static openSync(path: string, options?: WriterOptions): Encoder {
    const normalised = normaliseWriterOptions(path, options, 'Encoder.openSync');
    const events = new WriterEventRelay();
    return new Encoder(FrameWriter.openHandleSync(normalised, events), normalised, events);
  }

  /**
   * Encodes one frame and writes the packets that are ready (blocking). A Frame of another size
   * or pixel format is scaled first; see `Server.serveFrame` for what is taken and refused.
   */
  encodeFrame(frame: WriterInput): void {
    this.writeSync(frame, false);
  }

  /**
   * `encodeFrame` off the event loop, through a queue: the item is copied (its buffer may be
   * reused at once) and encoded and written in order on the thread pool, while the next ones
   * come. Resolves at once while the queue holds fewer than 64 items and 32 MiB, else once it
   * has room again. An item refused when its turn comes (a timestamp that goes back, say) is not
   * written, the others are, and its error is thrown by the next call (`encode`, which then
   * does not queue its own item, `encodeFrame` or `close`). `close` writes everything queued first.
   */
  encode(frame: WriterInput): Promise<void> {
    return this.enqueue(frame);
  }
}
