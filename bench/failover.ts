// npm run bench:failover
// CYCLES=n sets the source's deaths per side (default 10), OUTAGE_MS how long it stays away
// (default 3000), INPUT_TIMEOUT_MS the library's inputTimeoutMs (default its own, 2000).
// A live source (ffmpeg publishing a blue 320x180 picture at 25 fps into nginx-rtmp) relayed to
// another stream name, which an independent reader (the ffmpeg CLI) watches picture by picture.
// The source's publisher is killed (SIGKILL) CYCLES times and published again after OUTAGE_MS:
// - the library: pipeline() with a slate (a magenta picture), x264 ultrafast; then the same with
//   a second source that never dies as a fallback, standing by;
// - its reference, what live-streaming scripts glue together: `while :; do ffmpeg -i src -c:v
//   libx264 -preset ultrafast ... -f flv out; sleep 0.25; done` with -rw_timeout 2 s (the ffmpeg
//   CLI has no fallback; the loop starts it again, and it relays again once the source is back).
// For each death: the longest time the reader went without a picture (the channel dark), and
// the time from the source's return to its program at the reader.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from '../lib';
import { kill, publish, Watcher } from '../test/helpers/channel';
import { startRtmpServer, type RtmpServer } from '../test/helpers/servers';
import { median } from './common';

const CYCLES = Number(process.env.CYCLES ?? 10);
const OUTAGE_MS = Number(process.env.OUTAGE_MS ?? 3000);
const INPUT_TIMEOUT_MS = process.env.INPUT_TIMEOUT_MS ? Number(process.env.INPUT_TIMEOUT_MS) : undefined;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Cycle {
  dark: number;
  back: number | null;
}

/** Kills and brings back the source CYCLES times while `watcher` reads the relay's output. */
async function cycles(source: string, watcher: Watcher): Promise<Cycle[]> {
  let publisher = publish(source, 'blue');
  const results: Cycle[] = [];
  try {
    await watcher.until('program', 50, 30_000);
    for (let i = 0; i < CYCLES; i++) {
      const killedAt = Date.now();
      await kill(publisher);
      await sleep(OUTAGE_MS);
      const returnedAt = Date.now();
      publisher = publish(source, 'blue');
      let back: number | null = null;
      try {
        back = (await watcher.until('program', 25, 15_000, returnedAt)) - returnedAt;
      } catch {
        back = null;
      }
      await sleep(2000);
      results.push({ dark: watcher.longestGap(killedAt, Date.now()), back });
    }
  } finally {
    await kill(publisher);
  }
  return results;
}

async function library(rtmp: RtmpServer, slate: string, name: string, fallback: boolean): Promise<Cycle[]> {
  const controller = new AbortController();
  // A second source that never dies, standing by (green).
  const backup = fallback ? publish(rtmp.liveUrl(`${name}-backup`), 'lime') : null;
  if (backup) await sleep(1500);
  const run = pipeline({
    input: rtmp.liveUrl(`${name}-src`), output: rtmp.liveUrl(`${name}-out`), slate,
    ...(backup ? { fallbacks: [rtmp.liveUrl(`${name}-backup`)] } : {}),
    ...(INPUT_TIMEOUT_MS ? { inputTimeoutMs: INPUT_TIMEOUT_MS } : {}),
    server: { preset: 'ultrafast', bitRate: '500k', gopSize: 25 }, signal: controller.signal,
  });
  run.catch(() => {});
  // The source first: the pipeline opens on it.
  const results = cycles(rtmp.liveUrl(`${name}-src`), new Watcher(rtmp.liveUrl(`${name}-out`)));
  return results.finally(async () => {
    controller.abort();
    if (backup) await kill(backup);
  });
}

async function reference(rtmp: RtmpServer): Promise<Cycle[]> {
  // -rw_timeout: a relay whose source has gone gives up after 2 s, as the library's input does,
  // and the loop starts it again (without it, nginx keeps it waiting and it never resumes).
  const loop = spawn('bash', ['-c', `while :; do ffmpeg -v error -rw_timeout 2000000 -i ${rtmp.liveUrl('cli-src')} -c:v libx264 -preset ultrafast -b:v 500k -g 25 -c:a aac -f flv ${rtmp.liveUrl('cli-out')}; sleep 0.25; done`], { stdio: 'ignore', detached: true });
  try {
    return await cycles(rtmp.liveUrl('cli-src'), new Watcher(rtmp.liveUrl('cli-out')));
  } finally {
    process.kill(-loop.pid!, 'SIGKILL');
  }
}

function row(name: string, all: Cycle[]): string {
  const dark = all.map((c) => c.dark);
  const back = all.map((c) => c.back).filter((b): b is number => b !== null);
  return `${name.padEnd(44)} ${String(Math.round(median(dark))).padStart(8)} ${String(Math.max(...dark)).padStart(8)} ${back.length ? String(Math.round(median(back))).padStart(8) : '     n/a'} ${back.length ? String(Math.max(...back)).padStart(8) : '     n/a'} ${String(all.length - back.length).padStart(6)}`;
}

const rtmp = await startRtmpServer();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-bench-failover-'));
const slate = path.join(dir, 'slate.png');
execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=magenta:size=160x90', '-frames:v', '1', slate]);
try {
  const ours = await library(rtmp, slate, 'lib', false);
  const standby = await library(rtmp, slate, 'sby', true);
  const theirs = await reference(rtmp);
  console.log(`\nA live relay whose source dies ${CYCLES} times for ${OUTAGE_MS} ms (ms; dark: the reader's longest wait for a picture; back: source published again -> its picture at the reader)`);
  console.log(`${'what'.padEnd(44)} ${'dark p50'.padStart(8)} ${'dark max'.padStart(8)} ${'back p50'.padStart(8)} ${'back max'.padStart(8)} ${'never'.padStart(6)}`);
  console.log(row(`pipeline() with a slate (inputTimeoutMs ${INPUT_TIMEOUT_MS ?? 2000})`, ours));
  console.log(row('the same, and a fallback standing by', standby));
  console.log(row('ffmpeg CLI relay in a restart loop', theirs));
} finally {
  await rtmp.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
