// npm run bench:serve
// How many paced 720p30 pushes (libx264 ultrafast, 2.5 Mb/s, GOP 60, the AAC track copied) one
// machine sustains through `streamcoder serve` (the real CLI, each stream its own process), with
// every stream live and no more than 1 % of its items (pictures and sound packets) served more
// than half a frame late, against the same number of `ffmpeg -re` processes doing the same push
// (their `speed` must stay >= 0.99: ffmpeg measures no lateness of its own); both sides' fps
// too. For each count N of 1, 2, 4, 6, ... up to MAX_STREAMS (default 10; bounded), each side runs WARMUP_SECONDS (4)
// then is measured for MEASURE_SECONDS (10): CPU (utime + stime from /proc, % of one core), RSS
// (VmRSS) and PSS (smaps_rollup) per stream process; the service's own process apart. Stops after the first count
// the service does not sustain (ALL=1: goes on to MAX_STREAMS, to see where pace itself is lost;
// COUNTS=10,12 measures those counts only). PAIRED=1: both sides at once instead (see paired()).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { FIXTURE_DIR } from '../test/helpers/fixtures';
import { startRtmpServer } from '../test/helpers/servers';
import { startService, type StreamResource } from '../test/helpers/serve';

const MAX_STREAMS = Number(process.env.MAX_STREAMS ?? 10);
const WARMUP_SECONDS = Number(process.env.WARMUP_SECONDS ?? 4);
const MEASURE_SECONDS = Number(process.env.MEASURE_SECONDS ?? 10);
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

// 1280x720 at 30 fps, 10 s (300 frames), libx264 veryfast with B-frames, and a 48 kHz stereo AAC
// track: the source every push loops over.
const SOURCE_ARGS = ['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=10', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=10',
  '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '3', '-g', '60', '-pix_fmt', 'yuv420p', '-ac', '2', '-c:a', 'aac', '-b:a', '128k'];
const source = path.join(FIXTURE_DIR, 'bench-720p30-aac.mp4');
if (!fs.existsSync(source)) {
  fs.mkdirSync(FIXTURE_DIR, { recursive: true });
  const partial = `${source}.${process.pid}.partial.mp4`;
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...SOURCE_ARGS, partial]);
  fs.renameSync(partial, source);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/**
 * PSS: the process's share of the memory it maps, pages shared with other processes (the node or
 * ffmpeg binary and the libraries, which every stream process maps) divided among them: what
 * one more stream costs the machine. RSS counts the shared pages whole in every process.
 */
function pssMb(pid: number): number {
  const match = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** CPU % of one core of each process over `seconds`, and their RSS and PSS at the end. */
async function sample(pids: number[], seconds: number): Promise<{ cpu: number[]; rss: number[]; pss: number[] }> {
  const before = pids.map(cpuTicks);
  const started = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  return { cpu: pids.map((pid, i) => ((cpuTicks(pid) - before[i]) / TICKS / elapsed) * 100), rss: pids.map(rssMb), pss: pids.map(pssMb) };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

const rtmp = await startRtmpServer();
const service = await startService({ args: ['--stall', '20'] });
const rows: string[] = [];
console.log(`bench:serve: ${path.basename(source)} looped, 720p30 libx264 ultrafast 2500k; up to ${MAX_STREAMS} streams; ${WARMUP_SECONDS} s warm-up, ${MEASURE_SECONDS} s measured; ${TICKS} ticks/s; ${(await import('node:os')).cpus().length} cores`);

/** The ffmpeg CLI doing one stream's push (the reference). */
function ffmpegPush(url: string): ChildProcess {
  return spawn('ffmpeg', ['-hide_banner', '-v', 'error', '-nostats', '-progress', 'pipe:1', '-re', '-stream_loop', '-1', '-i', source,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '60', '-b:v', '2500k', '-c:a', 'copy', '-f', 'flv', url], { stdio: ['ignore', 'pipe', 'ignore'] });
}

/**
 * PAIRED=1: for each count, N streams through the service and N ffmpeg processes run at the same
 * time and are measured in the same window, so that both sides see the same machine (a VM's
 * neighbours move a one-side-after-the-other comparison by 10 % or more). No sustained count
 * here: together they are 2N streams.
 */
async function paired(counts: number[]): Promise<void> {
  console.log('\n N | serve CPU %/stream | RSS MB | PSS MB | ffmpeg CPU %/stream | RSS MB | PSS MB | CPU ratio | RSS ratio | PSS ratio');
  for (const n of counts) {
    const ids = Array.from({ length: n }, (_, i) => `paired-${n}-${i}`);
    for (const id of ids) {
      const answer = await service.api('POST', '/v1/streams', { id, input: source, outputs: [{ url: rtmp.liveUrl(id), bitrate: '2500k', preset: 'ultrafast' }], loop: true });
      if (answer.status !== 201) throw new Error(`create ${id}: ${answer.text}`);
    }
    const children = ids.map((id) => ffmpegPush(rtmp.liveUrl(`ff-${id}`)));
    const streams = await Promise.all(ids.map((id) => service.waitFor(id, (s) => s.state === 'live', 30_000)));
    await sleep(WARMUP_SECONDS * 1000);
    const pids = [...streams.map((s) => s.pid!), ...children.map((c) => c.pid!)];
    const m = await sample(pids, MEASURE_SECONDS);
    for (const child of children) child.kill('SIGKILL');
    for (const id of ids) await service.api('DELETE', `/v1/streams/${id}`);
    await sleep(500);
    const side = (values: number[], first: boolean) => mean(first ? values.slice(0, n) : values.slice(n));
    const [cpu, rss, pss] = [m.cpu, m.rss, m.pss].map((v) => [side(v, true), side(v, false)]);
    console.log([`${n}`.padStart(2), cpu[0].toFixed(1), rss[0].toFixed(0), pss[0].toFixed(0), cpu[1].toFixed(1), rss[1].toFixed(0), pss[1].toFixed(0),
      (cpu[0] / cpu[1]).toFixed(3), (rss[0] / rss[1]).toFixed(3), (pss[0] / pss[1]).toFixed(3)].join(' | '));
  }
}

try {
  const pairedRun = process.env.PAIRED === '1';
  if (pairedRun) await paired(process.env.COUNTS ? process.env.COUNTS.split(',').map(Number) : [1, 2, 4]);
  const counts = pairedRun ? [] : process.env.COUNTS
    ? process.env.COUNTS.split(',').map(Number)
    : [1, 2, ...Array.from({ length: Math.floor(MAX_STREAMS / 2) - 1 }, (_, i) => 4 + 2 * i)].filter((n) => n <= MAX_STREAMS);
  for (const n of counts) {
    // Through the service.
    const ids = Array.from({ length: n }, (_, i) => `bench-${n}-${i}`);
    for (const id of ids) {
      const answer = await service.api('POST', '/v1/streams', { id, input: source, outputs: [{ url: rtmp.liveUrl(id), bitrate: '2500k', preset: 'ultrafast' }], loop: true });
      if (answer.status !== 201) throw new Error(`create ${id}: ${answer.text}`);
    }
    await Promise.all(ids.map((id) => service.waitFor(id, (s) => s.state === 'live', 30_000)));
    await sleep(WARMUP_SECONDS * 1000);
    const get = async () => Promise.all(ids.map(async (id) => (await service.api<StreamResource>('GET', `/v1/streams/${id}`)).body));
    const first = await get();
    const window = performance.now();
    const measured = await sample([service.pid, ...first.map((s) => s.pid!)], MEASURE_SECONDS);
    const last = await get();
    const seconds = (performance.now() - window) / 1000;
    const allLive = last.every((s) => s.state === 'live' && s.pid === first[last.indexOf(s)].pid);
    // lateFrames counts every item served late, pictures and sound packets: over both.
    const late = last.map((s, i) => {
      const a = first[i].outputs[0];
      const b = s.outputs[0];
      const items = b.frames - a.frames + (b.audioPackets - a.audioPackets);
      return items > 0 ? (b.lateFrames - a.lateFrames) / items : 1;
    });
    const fps = last.map((s, i) => (s.outputs[0].frames - first[i].outputs[0].frames) / seconds);
    const sustained = allLive && Math.max(...late) <= 0.01;
    if (!sustained) {
      // Why not: each stream that was late, restarted or not live, as the service saw it.
      last.forEach((s, i) => {
        if (late[i] > 0.01 || s.state !== 'live' || s.pid !== first[i].pid) {
          console.log(`   ${s.id}: ${s.state}, ${(late[i] * 100).toFixed(2)}% late, lead ${s.outputs[0].lead} s, restarts ${s.restarts}, last error ${s.lastError?.message ?? 'none'}`);
        }
      });
    }
    for (const id of ids) await service.api('DELETE', `/v1/streams/${id}`);

    // The same pushes with the ffmpeg CLI.
    const speeds: number[][] = ids.map(() => []);
    const frameCounts: number[] = ids.map(() => 0);
    const children: ChildProcess[] = ids.map((id, i) => {
      const child = ffmpegPush(rtmp.liveUrl(`ff-${id}`));
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (chunk: string) => {
        for (const match of chunk.matchAll(/speed=\s*([\d.]+)x/g)) speeds[i].push(Number(match[1]));
        for (const match of chunk.matchAll(/^frame=(\d+)/gm)) frameCounts[i] = Number(match[1]);
      });
      return child;
    });
    await sleep(WARMUP_SECONDS * 1000);
    const marks = speeds.map((s) => s.length);
    const framesBefore = [...frameCounts];
    const ffWindow = performance.now();
    const ff = await sample(children.map((c) => c.pid!), MEASURE_SECONDS);
    const ffFps = frameCounts.map((f, i) => (f - framesBefore[i]) / ((performance.now() - ffWindow) / 1000));
    // ffmpeg's speed is averaged since its start: the last value of the window says whether it kept up.
    const ffSpeed = speeds.map((s, i) => (s.length > marks[i] ? s[s.length - 1] : 0));
    const ffAlive = children.every((c) => c.exitCode === null);
    for (const child of children) child.kill('SIGKILL');
    await sleep(500);

    const row = [
      `${n}`.padStart(2),
      sustained ? 'yes' : 'NO ',
      `${(Math.max(...late) * 100).toFixed(2)}%`.padStart(7),
      mean(fps).toFixed(1).padStart(5),
      mean(measured.cpu.slice(1)).toFixed(0).padStart(5),
      mean(measured.rss.slice(1)).toFixed(0).padStart(5),
      mean(measured.pss.slice(1)).toFixed(0).padStart(5),
      measured.cpu[0].toFixed(1).padStart(5),
      measured.rss[0].toFixed(0).padStart(5),
      ffAlive && Math.min(...ffSpeed) >= 0.99 ? 'yes' : 'NO ',
      Math.min(...ffSpeed).toFixed(3).padStart(6),
      mean(ffFps).toFixed(1).padStart(5),
      mean(ff.cpu).toFixed(0).padStart(5),
      mean(ff.rss).toFixed(0).padStart(5),
      mean(ff.pss).toFixed(0).padStart(5),
      (mean(measured.cpu.slice(1)) / mean(ff.cpu)).toFixed(2).padStart(5),
      (mean(measured.rss.slice(1)) / mean(ff.rss)).toFixed(2).padStart(5),
    ].join(' | ');
    rows.push(row);
    console.log(row);
    if (!sustained && process.env.ALL !== '1') break;
  }
} finally {
  await service.stop();
  await rtmp.stop();
}

if (rows.length) console.log('\n N | serve: sustained | max late | fps/stream | CPU %/stream | RSS MB/stream | PSS MB/stream | service CPU % | service RSS MB | ffmpeg -re: sustained | min speed | fps/stream | CPU %/stream | RSS MB/stream | PSS MB/stream | CPU ratio | RSS ratio');
for (const row of rows) console.log(row);
