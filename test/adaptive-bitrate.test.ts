// Adaptive bitrate through a throttling TCP proxy (a token bucket) between the Server and
// nginx-rtmp: the link drops from 8 to 1.5 Mbit/s for 20 s, then comes back. With an adaptive
// bitRate the push stays live and the bitrate follows the link down and back up; with a fixed one
// the push falls behind. Both are printed.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Server, type WriterOptions } from '../lib';
import { startRtmpServer, type RtmpServer } from './helpers/servers';
import { startThrottleProxy } from './helpers/throttle-proxy';

const WIDTH = 640;
const HEIGHT = 360;
const FPS = 30;
const START = 6_000_000;

let rtmp: RtmpServer;
beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(() => rtmp?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

interface Sample {
  t: number;
  target: number;
  lead: number;
}

/**
 * Pushes noise (which takes every bit it is given) through a proxy whose rate `schedule` sets,
 * sampling the stats every 250 ms until `until` says stop.
 */
async function run(name: string, options: WriterOptions, schedule: (t: number) => number, until: (t: number, s: Sample) => boolean) {
  const proxy = await startThrottleProxy(rtmp.port, schedule(0));
  const srv = await Server.open(`rtmp://127.0.0.1:${proxy.port}/live/${name}`, {
    width: WIDTH, height: HEIGHT, pixelFormat: 'gray', frameRate: FPS, preset: 'ultrafast', gopSize: 2 * FPS, reconnect: true, ...options,
  });
  const changes: string[] = [];
  srv.on('bitrate', (b) => changes.push(`${(b.bitRate / 1e6).toFixed(2)}${b.reason === 'congestion' ? '↓' : '↑'}`));
  const samples: Sample[] = [];
  const started = performance.now();
  let done = false;
  const sampler = setInterval(() => {
    const t = (performance.now() - started) / 1000;
    proxy.setRate(schedule(t));
    const stats = srv.stats;
    const sample = { t, target: stats.targetBitRate, lead: stats.lead };
    samples.push(sample);
    if (until(t, sample)) done = true;
  }, 250);
  const picture = new Uint8Array(WIDTH * HEIGHT);
  try {
    while (!done) {
      for (let i = 0; i < picture.length; i += 65536) crypto.getRandomValues(picture.subarray(i, i + 65536));
      await srv.serveBlock(picture);
    }
  } finally {
    clearInterval(sampler);
  }
  const stats = srv.stats;
  await srv.close();
  await proxy.close();
  return { samples, changes, stats };
}

const link = (t: number) => (t >= 5 && t < 25 ? 1_500_000 : 8_000_000);
const minLead = (samples: Sample[]) => Math.min(...samples.map((s) => s.lead));

test('the link drops from 8 to 1.5 Mbit/s for 20 s: with ABR the push stays live, settles under the capacity, then climbs back', async () => {
  const adaptive = await run('abr', { bitRate: { start: START, min: 300_000, max: START } }, link,
    (t, s) => t > 85 || (t > 30 && s.target >= 0.9 * START));
  const fixed = await run('fixed', { bitRate: START }, link, (t) => t > 15);
  const settled = adaptive.samples.find((s) => s.t >= 5 && s.target <= 1_500_000);
  const recovered = adaptive.samples.find((s) => s.t >= 25 && s.target >= 0.9 * START);
  console.log(`ABR:   lowest lead ${minLead(adaptive.samples).toFixed(2)} s, under 1.5 Mbit/s ${settled ? (settled.t - 5).toFixed(1) : 'never'} s after the drop, ` +
    `back within 10 % of the start ${recovered ? (recovered.t - 25).toFixed(1) : 'never'} s after the link returned; steps ${adaptive.changes.join(' ')}`);
  console.log(`fixed: lowest lead ${minLead(fixed.samples).toFixed(2)} s after 10 s of the narrow link (at ${START / 1e6} Mbit/s)`);
  expect(adaptive.stats.reconnects).toBe(0);
  expect(adaptive.stats.disconnects).toBe(0);
  expect(minLead(adaptive.samples)).toBeGreaterThanOrEqual(-1);
  expect(settled).toBeDefined();
  expect(settled!.t - 5).toBeLessThanOrEqual(5);
  expect(recovered).toBeDefined();
  expect(recovered!.t - 25).toBeLessThanOrEqual(60);
  // Never above the maximum, never below the minimum.
  expect(Math.max(...adaptive.samples.map((s) => s.target))).toBeLessThanOrEqual(START);
  expect(Math.min(...adaptive.samples.map((s) => s.target))).toBeGreaterThanOrEqual(300_000);
  // Without it the same link leaves the push behind.
  expect(fixed.stats.targetBitRate).toBe(0);
  expect(minLead(fixed.samples)).toBeLessThan(-1);
}, 180_000);

test('an adaptive bitRate: checked, and only where the rate can change in place', async () => {
  const base = { width: 64, height: 64, pixelFormat: 'gray' } as const;
  for (const bitRate of [{ start: '1M' }, { max: '1M', min: '2M' }, { max: '1M', start: '2M' }, { max: '1M', step: 1 }]) {
    await expect(Server.open(rtmp.liveUrl('x'), { ...base, bitRate: bitRate as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  }
  await expect(Server.open(rtmp.liveUrl('x'), { ...base, codec: 'libx265', bitRate: { max: '1M' } })).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED', message: expect.stringContaining('libx264') });
  await expect(Server.open(rtmp.liveUrl('x'), { ...base, bitRate: { max: '1M' }, crf: 20 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
});
