// Push a file to an RTMP/RTSP server in real time from one thread.
//   node examples/push-file.mjs clip.mp4 rtmp://127.0.0.1/live/cam
// (For a decoder that must never stall the stream, see two-workers.mjs or `streamcoder push`.)
import { Decoder, Server } from '../dist/index.js';

const [input, url] = process.argv.slice(2);
if (!input || !url) {
  console.error('usage: node examples/push-file.mjs <input> <url>');
  process.exit(2);
}
const decoder = await Decoder.open(input, { pixelFormat: 'yuv420p' });
const server = await Server.open(url, { from: decoder.info, preset: 'veryfast', tune: 'zerolatency', bitRate: '2M' });
for await (const frame of decoder) {
  await server.serveBlock(frame); // waits until the frame is due: real time, no drift
}
await server.close();
decoder.close();
console.log(server.stats);
