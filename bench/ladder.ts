// npm run bench:ladder — one input, three renditions (issue 13).
//
// The 1080p fixture (300 frames) to 1080p, 720p and 360p, libx264 veryfast at 4.5M / 2.5M / 800k,
// a keyframe every 2 s and -tune zerolatency (the Server's defaults for a network output), pushed
// unpaced to a local nginx-rtmp, three ways in the same rounds:
//   - pipeline({ outputs: [...] }): one decode, the frames shared through the ring, each output
//     scaled and encoded on its own thread;
//   - one ffmpeg process with the same three outputs (split, scale, three encoders);
//   - three ffmpeg processes, one per rendition, at once (each decodes the input again).
// Each runs as a process of its own under GNU time: its wall-clock fps (frames of the input
// through all three renditions per second), CPU seconds and peak RSS (the three processes': the
// sum of their peaks, since they run together). Goals: the library >= 1.0 x the single ffmpeg
// process and >= 1.2 x the three processes. Medians of ROUNDS (default 3), interleaved.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixture } from '../test/helpers/fixtures';
import { probeFrameCount } from '../test/helpers/ffmpeg-cli';
import { startRtmpServer } from '../test/helpers/servers';
import { median } from './common';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const RENDITIONS = [
  { name: '1080p', width: 1920, height: 1080, bitRate: '4500k' },
  { name: '720p', width: 1280, height: 720, bitRate: '2500k' },
  { name: '360p', width: 640, height: 360, bitRate: '800k' },
] as const;
const FPS = 30;

interface Run { seconds: number; cpu: number; rssMb: number }

/** Runs a command under GNU time: wall seconds, CPU seconds (user + system) and peak RSS. */
function timed(command: string, args: string[]): Promise<Run> {
  const rusage = path.join(os.tmpdir(), `streamcoder-ladder-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', rusage, command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) return reject(new Error(`${command} failed (${code}): ${stderr.slice(-2000)}`));
      const [user, system, rssKb] = fs.readFileSync(rusage, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      fs.rmSync(rusage, { force: true });
      resolve({ seconds, cpu: user + system, rssMb: rssKb / 1024 });
    });
  });
}

if (!fs.existsSync('/usr/bin/time')) throw new Error('bench:ladder needs GNU time (/usr/bin/time, Debian package `time`)');
const input = fixture('bench-1080p.mp4');
const frames = probeFrameCount(input);
const rtmp = await startRtmpServer();
let run = 0;
const urls = () => RENDITIONS.map((r) => rtmp.liveUrl(`${r.name}-${run++}`));
const x264 = (bitRate: string) => ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', String(2 * FPS), '-b:v', bitRate, '-pix_fmt', 'yuv420p'];
const flv = (url: string) => ['-f', 'flv', url];

const library = (): Promise<Run> => {
  const outputs = urls().map((url, i) => ({
    url,
    ...(i > 0 ? { width: RENDITIONS[i].width, height: RENDITIONS[i].height } : {}),
    server: { preset: 'veryfast', bitRate: RENDITIONS[i].bitRate },
  }));
  const script = `require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))})
    .pipeline({ input: ${JSON.stringify(input)}, outputs: ${JSON.stringify(outputs)}, realtime: false, audio: false })
    .then((s) => { if (s.outputs.some((o) => o.frames !== ${frames})) { console.error(JSON.stringify(s.outputs)); process.exit(1); } })
    .catch((e) => { console.error(e); process.exit(1); });`;
  return timed(process.execPath, ['-e', script]);
};

const oneFfmpeg = (): Promise<Run> => {
  const [hd, sd, low] = urls();
  return timed('ffmpeg', [
    '-v', 'error', '-i', input, '-an',
    '-filter_complex', '[0:v]split=3[a][b][c];[b]scale=1280:720[b2];[c]scale=640:360[c2]',
    '-map', '[a]', ...x264(RENDITIONS[0].bitRate), ...flv(hd),
    '-map', '[b2]', ...x264(RENDITIONS[1].bitRate), ...flv(sd),
    '-map', '[c2]', ...x264(RENDITIONS[2].bitRate), ...flv(low),
  ]);
};

const threeFfmpegs = async (): Promise<Run> => {
  const started = performance.now();
  const runs = await Promise.all(urls().map((url, i) => timed('ffmpeg', [
    '-v', 'error', '-i', input, '-an', ...(i > 0 ? ['-vf', `scale=${RENDITIONS[i].width}:${RENDITIONS[i].height}`] : []), ...x264(RENDITIONS[i].bitRate), ...flv(url),
  ])));
  return { seconds: (performance.now() - started) / 1000, cpu: runs.reduce((a, r) => a + r.cpu, 0), rssMb: runs.reduce((a, r) => a + r.rssMb, 0) };
};

const ways: [string, () => Promise<Run>][] = [
  ['pipeline(): one decode, 3 outputs on 3 threads', library],
  ['one ffmpeg process, 3 outputs (reference)', oneFfmpeg],
  ['3 ffmpeg processes, one per rendition', threeFfmpegs],
];
const samples = new Map<string, Run[]>(ways.map(([name]) => [name, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, way] of ways) samples.get(name)!.push(await way());
  }
} finally {
  await rtmp.stop();
}

const reference = median(samples.get(ways[1][0])!.map((r) => frames / r.seconds));
console.log(`\nLadder: ${frames} frames of 1080p H.264 -> 1080p 4.5M + 720p 2.5M + 360p 800k, libx264 veryfast, zerolatency, GOP 2 s, unpaced to nginx-rtmp; ` +
  `${os.cpus().length} cores, median of ${ROUNDS}`);
console.log(`${'what'.padEnd(50)} ${'fps'.padStart(7)} ${'ratio'.padStart(6)} ${'CPU s'.padStart(7)} ${'peak RSS MB'.padStart(12)}`);
for (const [name] of ways) {
  const runs = samples.get(name)!;
  const fps = median(runs.map((r) => frames / r.seconds));
  console.log(`${name.padEnd(50)} ${fps.toFixed(1).padStart(7)} ${(fps / reference).toFixed(3).padStart(6)} ${median(runs.map((r) => r.cpu)).toFixed(1).padStart(7)} ${median(runs.map((r) => r.rssMb)).toFixed(0).padStart(12)}`);
}
const three = median(samples.get(ways[2][0])!.map((r) => frames / r.seconds));
const ours = median(samples.get(ways[0][0])!.map((r) => frames / r.seconds));
console.log(`pipeline() / three processes: ${(ours / three).toFixed(3)} (goal >= 1.2); pipeline() / one process: ${(ours / reference).toFixed(3)} (goal >= 1.0)`);
