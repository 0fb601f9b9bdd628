// npm run bench:copy — stream copy (issue 22): the 300 s 1080p H.264 + AAC file (9000 video and
// 14100 audio packets, bench/fixtures.ts) remuxed unpaced, the way users write it, against
// `ffmpeg -c copy` doing the same in the same rounds:
//  - into an FLV file: the sync loop (extractItem + encodeFrame) and the natural async loop
//    (`for await (const item of decoder) await encoder.encode(item)`);
//  - to nginx-rtmp: the sync loop into a Server (serveFrame) and the async one (await serve);
//  - both with `pipeline({ video: 'copy' })`, which copies on the native relay (no JS per packet).
// CPU seconds of each run too. ROUNDS=n (default 3).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Decoder, Encoder, Server, pipeline } from '../lib';
import { startRtmpServer } from '../test/helpers/servers';
import { copyAsync, copySync, measure, measureCommand, report, roundsWithCpu } from './common';
import { benchFixture } from './fixtures';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const input = benchFixture('bench-1080p-aac-300s.mp4');
const packets = Number(String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', input])).trim());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-bench-copy-'));
const out = path.join(dir, 'out.flv');
const rtmp = await startRtmpServer();
let run = 0;
const copy = { video: 'copy', audio: 'copy' } as const;

const CLI_FILE = 'ffmpeg -c copy -f flv file';
const CLI_RTMP = 'ffmpeg -c copy -f flv rtmp://';
try {
  report(`Stream copy of ${path.basename(input)} (${packets} video packets) into an FLV file, unpaced (median of ${ROUNDS})`, await roundsWithCpu(ROUNDS, [
    () => measureCommand(CLI_FILE, packets, 'ffmpeg', ['-v', 'error', '-i', input, '-c', 'copy', '-f', 'flv', '-y', out]),
    () => measure('sync: extractItem + encodeFrame', () => {
      const dec = Decoder.openSync(input, copy);
      const enc = Encoder.openSync(out, { from: dec.info, ...copy });
      const n = copySync(dec, (item) => enc.encodeFrame(item));
      enc.closeSync();
      dec.close();
      return n;
    }),
    () => measure('async: for await + await encode', async () => {
      const dec = await Decoder.open(input, copy);
      const enc = await Encoder.open(out, { from: dec.info, ...copy });
      const n = await copyAsync(dec, (item) => enc.encode(item));
      await enc.close();
      dec.close();
      return n;
    }),
    // No JavaScript per packet: the native relay reads and writes on threads of its own.
    () => measure('pipeline({ video: copy }) (native relay)', async () => (await pipeline({ input, output: out, video: 'copy', realtime: false })).frames),
  ]), CLI_FILE, packets);

  report(`The same to nginx-rtmp, unpaced (median of ${ROUNDS})`, await roundsWithCpu(ROUNDS, [
    () => measureCommand(CLI_RTMP, packets, 'ffmpeg', ['-v', 'error', '-i', input, '-c', 'copy', '-tcp_nodelay', '1', '-f', 'flv', rtmp.liveUrl(`cli${run++}`)]),
    () => measure('sync: extractItem + serveFrame', async () => {
      const dec = Decoder.openSync(input, copy);
      const srv = await Server.open(rtmp.liveUrl(`lib${run++}`), { from: dec.info, ...copy });
      const n = copySync(dec, (item) => srv.serveFrame(item));
      srv.closeSync();
      dec.close();
      return n;
    }),
    () => measure('async: for await + await serve', async () => {
      const dec = await Decoder.open(input, copy);
      const srv = await Server.open(rtmp.liveUrl(`lib${run++}`), { from: dec.info, ...copy });
      const n = await copyAsync(dec, (item) => srv.serve(item));
      await srv.close();
      dec.close();
      return n;
    }),
    () => measure('pipeline({ video: copy }) (native relay)', async () => (await pipeline({ input, output: rtmp.liveUrl(`lib${run++}`), video: 'copy', realtime: false })).frames),
  ]), CLI_RTMP, packets);
} finally {
  await rtmp.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
