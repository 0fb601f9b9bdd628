// npm run bench:decode — 1080p H.264 (300 frames) decoded to rgb24 by the library, three ways,
// against `ffmpeg -i X -f rawvideo -pix_fmt rgb24 -y /dev/null` with the same thread count, in
// the same run. Medians of 5 interleaved rounds. THREADS=n sets the decoder threads (default 0:
// FFmpeg's automatic choice, for both sides).
import { Decoder } from '../lib';
import { fixture } from '../test/helpers/fixtures';
import { probeFrameCount } from '../test/helpers/ffmpeg-cli';
import { measure, measureCommand, report, rounds } from './common';

const threads = Number(process.env.THREADS ?? 0);
const file = fixture('bench-1080p.mp4');
const frames = probeFrameCount(file);

const results = await rounds(5, [
  () => measureCommand('ffmpeg CLI -f rawvideo -pix_fmt rgb24', frames, 'ffmpeg', ['-v', 'error', '-threads', String(threads), '-i', file, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-y', '/dev/null']),
  // (No `using` here: vite-node does not lower it for Node 20.)
  () => measure('extractFrame (sync)', () => {
    const dec = Decoder.openSync(file, { threads });
    let n = 0;
    while (dec.extractFrame()) n++;
    dec.close();
    return n;
  }),
  () => measure('extractFrameInto (sync, one buffer)', () => {
    const dec = Decoder.openSync(file, { threads });
    const target = new Uint8Array(dec.frameBytes);
    let n = 0;
    while (dec.extractFrameInto(target)) n++;
    dec.close();
    return n;
  }),
  () => measure('for await (async iterator)', async () => {
    const dec = await Decoder.open(file, { threads });
    let n = 0;
    for await (const _frame of dec) n++;
    dec.close();
    return n;
  }),
]);

report(`Decode 1080p H.264 -> rgb24, ${frames} frames, threads=${threads} (median of 5)`, results, 'ffmpeg CLI -f rawvideo -pix_fmt rgb24');
