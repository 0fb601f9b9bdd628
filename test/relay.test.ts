// A live relay in a script, Client -> Server, across a restart of its source: the publisher stops
// and starts again, the Client reconnects, and the stream's timestamps start over at 0. With
// `timeline: 'continue'` the Server carries its timeline on (issue 11: relays broke with "Frame
// timestamps must increase"). Without it, the refusal names that option: test/timeline.test.ts.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Client, Server, type AudioFrame, type Frame } from '../lib';
import { settledFile, startRtmpServer, type RtmpServer } from './helpers/servers';

let rtmp: RtmpServer;
beforeAll(async () => {
  rtmp = await startRtmpServer();
});
afterAll(() => rtmp?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The ffmpeg CLI publishing `seconds` of a live test picture and tone (each run starts its timestamps at 0). */
function publish(name: string, seconds: number): ChildProcess {
  return spawn('ffmpeg', ['-v', 'error', '-re', '-f', 'lavfi', '-i', `testsrc2=size=160x120:rate=25:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=sample_rate=48000:duration=${seconds}`,
    '-ac', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-c:a', 'aac', '-f', 'flv', rtmp.liveUrl(name)]);
}

const ended = (child: ChildProcess) => new Promise((resolve) => child.once('exit', resolve));

test("Client -> Server relay with timeline: 'continue' carries on across a publisher's restart, sound included", async () => {
  let publisher = publish('source', 3);
  await sleep(400);
  const cli = await Client.open(rtmp.liveUrl('source'), { timeoutMs: 3000, cacheSize: 256, audio: true, reconnect: { retries: 20, backoffMs: 200 } });
  const srv = await Server.open(rtmp.recordUrl('relayed'), { from: cli.info, preset: 'ultrafast', gopSize: 25, audio: { codec: 'aac' }, timeline: 'continue' });
  let reconnects = 0;
  cli.on('reconnect', () => reconnects++);
  cli.start();
  const restarted = (async () => {
    await ended(publisher);
    await sleep(300);
    publisher = publish('source', 3);
    await ended(publisher);
  })();
  let frames = 0;
  let sound = 0;
  const times: number[] = [];
  for (;;) {
    const item = await cli.read(4000).catch(() => null) as Frame | AudioFrame | null;
    if (item === null) break;
    if (item.kind === 'audio') sound += item.samples / item.sampleRate;
    else {
      frames++;
      times.push(item.time ?? NaN);
    }
    await srv.serve(item);
  }
  await restarted;
  cli.close();
  await srv.close();
  expect(reconnects).toBeGreaterThanOrEqual(1);
  // The source's own times went back to (near) 0 after the restart.
  expect(times.some((t, i) => i > 0 && t < times[i - 1] - 1)).toBe(true);
  const file = await settledFile(rtmp.recordingOf('relayed'));
  const pts = String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', file]))
    .split('\n').filter((line) => /^\d/.test(line)).map((line) => parseFloat(line));
  expect(pts.length).toBe(srv.stats.packets);
  // One forward timeline in the output, as long as both runs together.
  const sorted = [...pts].sort((a, b) => a - b);
  expect(new Set(sorted).size).toBe(sorted.length);
  expect(sorted.at(-1)! - sorted[0]).toBeGreaterThan(4.5);
  expect(frames).toBeGreaterThan(100);
  expect(sound).toBeGreaterThan(4);
  expect(srv.stats.audioPackets).toBeGreaterThan(150);
}, 60_000);
