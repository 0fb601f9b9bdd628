import { spawn } from 'node:child_process';
import { expect, test } from 'vitest';
import { Client } from '../lib';
import { startRtmpServer } from './helpers/servers';
test('debug', async () => {
  const rtmp = await startRtmpServer();
  const pub = spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '9', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-f', 'flv', rtmp.liveUrl('c')], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 2000));
  const t0 = performance.now();
  const cli = await Client.open(rtmp.liveUrl('c'), { timeoutMs: 3000 });
  console.log('open ms', Math.round(performance.now() - t0));
  cli.on('end', () => console.log('END event', Math.round(performance.now() - t0)));
  cli.on('error', (e) => console.log('ERROR event', e.code, Math.round(performance.now() - t0)));
  cli.start();
  const t1 = performance.now();
  let n = 0; let first = -1;
  try {
    for await (const f of cli) { n++; if (first < 0) first = performance.now() - t1; if (n % 30 === 0) console.log(`${((performance.now() - t1) / 1000).toFixed(2)} s: ${n} frames, latency ${cli.stats.latencyMs}`); }
    console.log('iteration ended (null) at', Math.round(performance.now() - t0));
  } catch (e) { console.log('iteration threw', (e as any).code, Math.round(performance.now() - t0)); }
  cli.close(); pub.kill(); await rtmp.stop();
  expect(1).toBe(1);
}, 60000);
