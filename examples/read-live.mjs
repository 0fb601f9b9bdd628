// Read a live stream on a native thread and look at the newest frame once a second.
//   node examples/read-live.mjs rtsp://127.0.0.1:8554/cam
import { Client } from '../dist/index.js';

const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: node examples/read-live.mjs <url>');
  process.exit(2);
}
const client = await Client.open(url, { lowLatency: true, cacheSize: 4, reconnect: { retries: 10, backoffMs: 500 } });
client.on('error', (error) => console.error(error.code, error.message));
client.on('reconnect', (attempt) => console.error(`reconnecting (attempt ${attempt})`));
client.start();
const timer = setInterval(() => {
  const [frame] = client.extractFrame(1);
  if (frame) console.log(`frame ${frame.index} at ${frame.time?.toFixed(2)} s, ${frame.width}x${frame.height}`, client.stats);
}, 1000);
process.once('SIGINT', () => {
  clearInterval(timer);
  client.close();
});
