// npm run bench:resilience
// KILLS=n sets the server kills per side (default 10), OUTAGE_MS the outage (default 1000).
// A paced push (320x240 at 25 fps, libx264 ultrafast zerolatency, a keyframe a second) to a local
// nginx-rtmp that is killed (SIGKILL) every 6 s and started again on its port after OUTAGE_MS:
// - the library: one Server with `reconnect` (backoff 250 ms doubling to 5 s, the defaults, and
//   a 10 s outage buffer), serving stamped pictures;
// - its reference, what live-streaming scripts glue together: `while :; do ffmpeg -re -i clip
//   -c:v libx264 ... -f flv rtmp://...; sleep 0.25; done` (the ffmpeg CLI does not reconnect; the
//   loop starts it again, 250 ms after it exits, as the library's first backoff).
// For each kill: the time from the restart until an independent reader (the ffmpeg CLI) decodes a
// picture (p50, max), and for the library the frames dropped per outage and its downtime.
import { spawn } from 'node:child_process';
import { Server } from '../lib';
import { firstPictureMs } from '../test/helpers/ffmpeg-cli';
import { fixture } from '../test/helpers/fixtures';
import { freePort, startRtmpServer, type RtmpServer } from '../test/helpers/servers';
import { stampedFrame } from '../test/helpers/stamp';
import { median } from './common';

const KILLS = Number(process.env.KILLS ?? 10);
const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 1000);
const PERIOD_MS = 6000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Kills the server KILLS times; after each restart, how long until a reader sees the stream. */
async function outages(port: number, first: RtmpServer, url: (s: RtmpServer) => string, all: RtmpServer[]): Promise<number[]> {
  let server = first;
  const seen: number[] = [];
  const begin = performance.now();
  for (let i = 0; i < KILLS; i++) {
    await sleep(begin + 3000 + PERIOD_MS * i - performance.now());
    server.kill();
    await sleep(OUTAGE_MS);
    server = await startRtmpServer(port);
    all.push(server);
    seen.push(await firstPictureMs(url(server), 10_000));
  }
  await sleep(begin + 3000 + PERIOD_MS * KILLS - performance.now());
  return seen;
}

async function library(): Promise<{ seen: number[]; drops: number[]; downtime: number[] }> {
  const port = await freePort();
  const servers = [await startRtmpServer(port)];
  const srv = await Server.open(servers[0].liveUrl('bench'), {
    width: 320, height: 240, pixelFormat: 'gray', frameRate: 25, preset: 'ultrafast', gopSize: 25, reconnect: true,
  });
  const drops: number[] = [];
  const downtime: number[] = [];
  let dropped = 0;
  srv.on('reconnect', ({ downtimeMs }) => {
    downtime.push(downtimeMs);
    drops.push(srv.stats.droppedFrames - dropped);
    dropped = srv.stats.droppedFrames;
  });
  let done = false;
  const schedule = outages(port, servers[0], (s) => s.liveUrl('bench'), servers).finally(() => (done = true));
  for (let n = 0; !done; n++) await srv.serveBlock(stampedFrame(n, 320, 240));
  const seen = await schedule;
  await srv.close();
  for (const server of servers) await server.stop();
  return { seen, drops, downtime };
}

async function reference(): Promise<number[]> {
  const port = await freePort();
  const servers = [await startRtmpServer(port)];
  const url = servers[0].liveUrl('bench');
  const loop = spawn('sh', ['-c', `while :; do ffmpeg -v quiet -re -stream_loop -1 -i ${fixture('h264-bframes.mp4')} -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -an -f flv ${url}; sleep 0.25; done`], { stdio: 'ignore', detached: true });
  try {
    await sleep(1000);
    return await outages(port, servers[0], (s) => s.liveUrl('bench'), servers);
  } finally {
    process.kill(-loop.pid!, 'SIGKILL');
    for (const server of servers) await server.stop();
  }
}

const ms = (values: number[]) => `p50 ${Math.round(median(values))} ms, max ${Math.round(Math.max(...values))} ms`;
console.log(`resilience: ${KILLS} kills of nginx-rtmp, each down ${OUTAGE_MS} ms, one every ${PERIOD_MS / 1000} s`);
const lib = await library();
console.log(`library  (reconnect)       seen again after the restart: ${ms(lib.seen)}; downtime ${ms(lib.downtime)}; frames dropped per outage ${lib.drops.join(' ')}`);
const ref = await reference();
console.log(`ffmpeg CLI in a shell loop seen again after the restart: ${ms(ref)} (it starts the input over: what was on air is lost)`);
console.log(`ratio (reference p50 / library p50): ${(median(ref) / median(lib.seen)).toFixed(2)}`);

// Adaptive bitrate: the same kind of push (640x360 noise, which takes every bit it is given,
// 30 fps, libx264 ultrafast, 6 Mbit/s) through a token-bucket proxy whose link drops from 8 to
// 1.5 Mbit/s for 20 s at 5 s, then comes back. The library with `bitRate: { start: 6M, min: 300k,
// max: 6M }`: how long until its target is under the capacity, how long until it is back within
// 10 % of the start, how far behind it fell. The reference: the ffmpeg CLI pushing the same rate
// with -re (no ABR exists there), how far behind it falls in the 20 s (its -progress out_time
// against the wall clock).
if (process.env.ABR !== '0') {
  const { startThrottleProxy } = await import('../test/helpers/throttle-proxy');
  const link = (t: number) => (t >= 5 && t < 25 ? 1_500_000 : 8_000_000);
  const rtmp = await startRtmpServer();
  const proxy = await startThrottleProxy(rtmp.port, link(0));
  const srv = await Server.open(`rtmp://127.0.0.1:${proxy.port}/live/abr`, {
    width: 640, height: 360, pixelFormat: 'gray', frameRate: 30, preset: 'ultrafast', gopSize: 60, bitRate: { start: 6_000_000, min: 300_000, max: 6_000_000 },
  });
  const started = performance.now();
  let settled = NaN;
  let recovered = NaN;
  let minLead = 0;
  const sampler = setInterval(() => {
    const t = (performance.now() - started) / 1000;
    proxy.setRate(link(t));
    const { targetBitRate, lead } = srv.stats;
    minLead = Math.min(minLead, lead);
    if (t >= 5 && Number.isNaN(settled) && targetBitRate <= 1_500_000) settled = t - 5;
    if (t >= 25 && Number.isNaN(recovered) && targetBitRate >= 5_400_000) recovered = t - 25;
  }, 250);
  const picture = new Uint8Array(640 * 360);
  while ((performance.now() - started) / 1000 < 25 || (Number.isNaN(recovered) && (performance.now() - started) / 1000 < 90)) {
    for (let i = 0; i < picture.length; i += 65536) crypto.getRandomValues(picture.subarray(i, i + 65536));
    await srv.serveBlock(picture);
  }
  clearInterval(sampler);
  await srv.close();
  await proxy.close();
  console.log(`library  (adaptive bitrate) under the 1.5 Mbit/s capacity ${settled.toFixed(1)} s after the drop, back within 10 % of the start ` +
    `${Number.isNaN(recovered) ? 'not within 65 s' : `${recovered.toFixed(1)} s`} after the link returned; at most ${(-minLead).toFixed(2)} s behind`);

  const refProxy = await startThrottleProxy(rtmp.port, link(0));
  const ffmpeg = spawn('ffmpeg', ['-v', 'error', '-progress', 'pipe:1', '-re', '-f', 'lavfi', '-i', 'nullsrc=size=640x360:rate=30,geq=random(1)*255:128:128',
    '-t', '25', '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '6M', '-maxrate', '6M', '-bufsize', '6M', '-g', '60', '-f', 'flv', `rtmp://127.0.0.1:${refProxy.port}/live/ref`], { stdio: ['ignore', 'pipe', 'ignore'] });
  const refStarted = performance.now();
  let behind = 0;
  let output = '';
  ffmpeg.stdout.on('data', (chunk) => {
    output += chunk;
    for (const match of output.matchAll(/out_time_us=(\d+)/g)) behind = Math.max(behind, (performance.now() - refStarted) / 1000 - Number(match[1]) / 1e6);
    output = output.slice(-200);
  });
  const refSampler = setInterval(() => refProxy.setRate(link((performance.now() - refStarted) / 1000)), 250);
  await new Promise((resolve) => setTimeout(resolve, 25_000));
  clearInterval(refSampler);
  ffmpeg.kill('SIGKILL');
  await refProxy.close();
  await rtmp.stop();
  console.log(`ffmpeg CLI (a fixed 6 Mbit/s) by the end of the 20 s narrow link: ${behind.toFixed(1)} s behind`);
}
