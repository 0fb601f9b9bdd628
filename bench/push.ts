// npm run bench:push
// ROUNDS=n sets the rounds of the throughput rows (default 3), PACE_SECONDS shortens (3),
// PACE_AV_SECONDS (at most 60) shortens (4), PACE_AV_REFERENCE=0 leaves out its CLI push.
// (1) Throughput: the 1080p fixture (300 frames) decoded and pushed unpaced with libx264
//     veryfast, tune zerolatency (a Server's live default), GOP 60, to a local nginx-rtmp, against
//     `ffmpeg -i X -c:v libx264 -preset veryfast -tune zerolatency
//     -g 60 -tcp_nodelay 1 -f flv rtmp://...` doing the same, in the same run, same thread counts
//     (0: auto) and the same socket option (the library sets TCP_NODELAY for rtmp://).
//     Frames stay yuv420p end to end on both sides (no colour conversion), so the work is the
//     same; the rgb24 path (what most users feed) is printed for information.
// (2) Throughput with sound: the same pictures with a 48 kHz stereo AAC track (bench/fixtures.ts),
//     each row against its ffmpeg CLI command in the same rounds: (a) video libx264 + the AAC
//     copied (`-c:a copy`), (b) video libx264 + the sound decoded and re-encoded as AAC 128k
//     (`-c:a aac -b:a 128k`), (c) everything copied (`-c copy`), unpaced, of that file and of a
//     300 s one (the same 30 times over). CPU seconds of each run too: process.cpuUsage for the
//     library, the command's rusage (GNU time) for the CLI.
// (3) Pacing: 30 s at 30 fps with serveFrameBlock (640x360): lateness of each frame against its
//     deadline (p50, p99, max) and the drift of the last frame.
// (4) Pacing with sound: 60 s of the A/V sync judge's source (test/helpers/av-sync.ts: a white
//     picture and a beep at every whole second; 640x360, 30 fps, AAC) decoded and served item by
//     item in time order with serveFrameBlock (pictures re-encoded with libx264 veryfast, no
//     B-frames; sound re-encoded AAC 128k) to nginx-rtmp's recording application; lateness of each
//     item, then the judge measures the flash-to-beep offsets in the recording, at the start and
//     at the end. The ffmpeg CLI doing the same push (`-re`) is measured by the same judge.
import { execFileSync } from 'node:child_process';
import { Decoder, Server, type WriterOptions } from '../lib';
import { measureSync, type SyncMeasure } from '../test/helpers/av-sync';
import { fixture } from '../test/helpers/fixtures';
import { probeFrameCount } from '../test/helpers/ffmpeg-cli';
import { settledFile, startRtmpServer } from '../test/helpers/servers';
import { copySync, measure, measureCommand, report, roundsWithCpu } from './common';
import { benchFixture } from './fixtures';

const file = fixture('bench-1080p.mp4');
const avFile = benchFixture('bench-1080p-aac.mp4');
const frames = probeFrameCount(file);
const avFrames = probeFrameCount(avFile);
const rtmp = await startRtmpServer();
// tune zerolatency on both sides: a Server to rtmp:// gets it by default (live defaults), and the
// CLI must do the same work (without it x264 spends lookahead and B-frames the library does not).
const encoder = { preset: 'veryfast', tune: 'zerolatency', gopSize: 60, threads: 0 } as const;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const cli = ['-v', 'error', '-threads', '0'];
const x264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '60', '-threads', '0'];
const flv = ['-tcp_nodelay', '1', '-f', 'flv'];

function quantiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;

function describeSync(what: string, measured: SyncMeasure): void {
  const { offsets } = measured;
  if (offsets.length === 0) {
    console.log(`${what}: no flash with a beep found (${measured.flashes.length} flashes, ${measured.beeps.length} beeps)`);
    return;
  }
  const first = offsets[0];
  const last = offsets[offsets.length - 1];
  const worst = offsets.reduce((a, b) => (Math.abs(b.offset) > Math.abs(a.offset) ? b : a));
  console.log(`${what}: ${offsets.length} flash/beep pairs (${measured.flashes.length} flashes, ${measured.beeps.length} beeps); ` +
    `beep - flash at ${first.flash.toFixed(3)} s: ${ms(first.offset)}, at ${last.flash.toFixed(3)} s: ${ms(last.offset)}, ` +
    `largest |offset| ${ms(worst.offset)} (at ${worst.flash.toFixed(3)} s)`);
}

try {
  let run = 0;
  const push = (pixelFormat: 'yuv420p' | 'rgb24') => async () => {
    const dec = Decoder.openSync(file, { pixelFormat });
    const srv = await Server.open(rtmp.liveUrl(`bench${run++}`), { from: dec.info, ...encoder });
    const buffer = new Uint8Array(dec.frameBytes);
    let n = 0;
    while (dec.extractFrameInto(buffer)) {
      srv.serveFrame(buffer);
      n++;
    }
    srv.closeSync();
    dec.close();
    return n;
  };
  const results = await roundsWithCpu(ROUNDS, [
    () => measureCommand('ffmpeg CLI (decode + libx264 + flv push)', frames, 'ffmpeg', [...cli, '-i', file, ...x264, ...flv, rtmp.liveUrl(`cli${run++}`)]),
    () => measure('Decoder -> Server.serveFrame (yuv420p)', push('yuv420p')),
    () => measure('Decoder -> Server.serveFrame (rgb24)', push('rgb24')),
  ]);
  report(`Push 1080p H.264 -> libx264 veryfast -> nginx-rtmp, ${frames} frames, unpaced (median of ${ROUNDS})`, results, 'ffmpeg CLI (decode + libx264 + flv push)', frames);

  // Throughput with sound: pictures decoded into one buffer and served as Frames (with their
  // times, so they sit on the sound's timeline), the sound copied or decoded and re-encoded.
  const pushWithSound = (audio: 'copy' | { codec: 'aac'; bitRate: string }) => async () => {
    const dec = Decoder.openSync(avFile, { pixelFormat: 'yuv420p', audio: audio === 'copy' ? 'copy' : true });
    const srv = await Server.open(rtmp.liveUrl(`bench${run++}`), { from: dec.info, ...encoder, audio });
    const buffer = new Uint8Array(dec.frameBytes);
    let n = 0;
    for (let item = dec.extractItemInto(buffer); item; item = dec.extractItemInto(buffer)) {
      if (item.kind === 'video') {
        srv.serveFrame({ ...item, data: buffer });
        n++;
      } else {
        srv.serveFrame(item);
      }
    }
    srv.closeSync();
    dec.close();
    return n;
  };
  const copyAll = (input: string) => async () => {
    const dec = Decoder.openSync(input, { video: 'copy', audio: 'copy' });
    const srv = await Server.open(rtmp.liveUrl(`bench${run++}`), { from: dec.info, video: 'copy', audio: 'copy' });
    const n = copySync(dec, (item) => srv.serveFrame(item));
    srv.closeSync();
    dec.close();
    return n;
  };
  const CLI_A = 'ffmpeg CLI (a): libx264 + -c:a copy';
  const LIB_A = "(a) Decoder({ audio: 'copy' }) -> Server({ audio: 'copy' })";
  const CLI_B = 'ffmpeg CLI (b): libx264 + -c:a aac -b:a 128k';
  const LIB_B = "(b) Decoder({ audio: true }) -> Server({ audio: aac 128k })";
  const sound = await roundsWithCpu(ROUNDS, [
    () => measureCommand(CLI_A, avFrames, 'ffmpeg', [...cli, '-i', avFile, ...x264, '-c:a', 'copy', ...flv, rtmp.liveUrl(`cli${run++}`)]),
    () => measure(LIB_A, pushWithSound('copy')),
    () => measureCommand(CLI_B, avFrames, 'ffmpeg', [...cli, '-i', avFile, ...x264, '-c:a', 'aac', '-b:a', '128k', ...flv, rtmp.liveUrl(`cli${run++}`)]),
    () => measure(LIB_B, pushWithSound({ codec: 'aac', bitRate: '128k' })),
  ]);
  const pick = (...names: string[]) => new Map(names.map((name) => [name, sound.get(name)!]));
  report(`(a) 1080p H.264 + AAC 48 kHz stereo -> libx264 veryfast, sound copied -> nginx-rtmp, ${avFrames} frames, unpaced (median of ${ROUNDS}; goal: ratio >= 0.97)`, pick(CLI_A, LIB_A), CLI_A, avFrames);
  report(`(b) the same, sound decoded and re-encoded AAC 128k (median of ${ROUNDS}; goal: ratio >= 0.97)`, pick(CLI_B, LIB_B), CLI_B, avFrames);

  const CLI_C = 'ffmpeg CLI (c): -c copy';
  const LIB_C = "(c) Decoder({ video: 'copy', audio: 'copy' }) -> Server(copy)";
  const copyRows = (input: string, count: number) => [
    () => measureCommand(CLI_C, count, 'ffmpeg', [...cli, '-i', input, '-c', 'copy', ...flv, rtmp.liveUrl(`cli${run++}`)]),
    () => measure(LIB_C, copyAll(input)),
  ];
  report(`(c) 1080p H.264 + AAC, both copied -> nginx-rtmp, ${avFrames} frames (10 s), unpaced (median of ${ROUNDS + 2}; whole runs: opening and closing, and the CLI's process start, dominate)`,
    await roundsWithCpu(ROUNDS + 2, copyRows(avFile, avFrames)), CLI_C, avFrames);
  const longFile = benchFixture('bench-1080p-aac-300s.mp4');
  // Its video packets (one per picture), counted without decoding 9000 1080p pictures.
  const longFrames = Number(String(execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', longFile])).trim());
  report(`(c) the same file 30 times over (300 s, ${longFrames} frames, 208 MB), both copied -> nginx-rtmp, unpaced (median of ${ROUNDS})`,
    await roundsWithCpu(ROUNDS, copyRows(longFile, longFrames)), CLI_C, longFrames);

  // Pacing.
  const seconds = Number(process.env.PACE_SECONDS ?? 30);
  const dec = Decoder.openSync(file, { width: 640, pixelFormat: 'yuv420p' });
  const pictures = Array.from({ length: 30 }, () => dec.extractFrame()!.data);
  dec.close();
  const srv = await Server.open(rtmp.liveUrl('pace'), { width: 640, height: 360, frameRate: 30, pixelFormat: 'yuv420p', preset: 'veryfast' });
  const lateness: number[] = [];
  const total = seconds * 30;
  const started = performance.now();
  for (let i = 0; i < total; i++) lateness.push(srv.serveFrameBlock(pictures[i % pictures.length]) * 1000);
  const elapsed = (performance.now() - started) / 1000;
  srv.closeSync();
  const late = quantiles(lateness);
  const drift = (elapsed - (total - 1) / 30) * 1000;
  console.log(`\nPacing: ${total} frames at 30 fps (${seconds} s) with serveFrameBlock, 640x360 libx264 veryfast`);
  console.log(`lateness against each deadline: p50 ${late.p50.toFixed(3)} ms, p99 ${late.p99.toFixed(3)} ms, max ${late.max.toFixed(3)} ms`);
  console.log(`drift at the end: ${drift.toFixed(2)} ms (one frame = 33.3 ms); late frames: ${srv.stats.lateFrames}`);

  // Pacing with sound, and A/V sync measured in the recording.
  const avSeconds = Math.min(60, Number(process.env.PACE_AV_SECONDS ?? 60));
  const source = benchFixture('flash-beep-640x360-60s.mp4');
  const video: WriterOptions = { preset: 'veryfast', maxBFrames: 0 };
  const paced = Decoder.openSync(source, { pixelFormat: 'yuv420p', audio: true });
  const server = await Server.open(rtmp.recordUrl('pace-av'), { from: paced.info, ...video, audio: { codec: 'aac', bitRate: '128k' } });
  const videoLateness: number[] = [];
  const audioLateness: number[] = [];
  // Every 16 pictures (0.533 s = 25600 samples) a picture and an AudioFrame are due at the same
  // instant; the Decoder gives the picture first, so the AudioFrame waits for its encoding, however
  // good the pacing: lateness is also kept apart for items due at least 5 ms after the one before.
  const spacedLateness: number[] = [];
  const crowdedLateness: number[] = [];
  let firstTime = Number.NaN;
  let lastTime = Number.NaN;
  let avStarted = 0;
  for (let item = paced.extractItem(); item; item = paced.extractItem()) {
    const time = item.time ?? Number.NaN;
    if (time >= avSeconds) break;
    const lateBy = server.serveFrameBlock(item) * 1000;
    if (Number.isNaN(firstTime)) {
      firstTime = time;
      avStarted = performance.now();
    }
    (time - lastTime < 0.005 ? crowdedLateness : spacedLateness).push(lateBy);
    lastTime = time;
    (item.kind === 'audio' ? audioLateness : videoLateness).push(lateBy);
  }
  const avElapsed = (performance.now() - avStarted) / 1000;
  paced.close();
  const stats = server.stats;
  await server.close();
  const all = quantiles([...videoLateness, ...audioLateness]);
  const videoLate = quantiles(videoLateness);
  const audioLate = quantiles(audioLateness);
  const spaced = quantiles(spacedLateness);
  const crowded = quantiles(crowdedLateness);
  console.log(`\nPacing with sound: ${avSeconds} s of 640x360 at 30 fps + AAC 48 kHz stereo with serveFrameBlock, items in time order: ` +
    `${videoLateness.length} pictures (libx264 veryfast, no B-frames) and ${audioLateness.length} AudioFrames (re-encoded AAC 128k)`);
  console.log(`lateness against each deadline, all items: p50 ${all.p50.toFixed(3)} ms, p99 ${all.p99.toFixed(3)} ms (goal < 2 ms), max ${all.max.toFixed(3)} ms`);
  console.log(`  pictures: p50 ${videoLate.p50.toFixed(3)} ms, p99 ${videoLate.p99.toFixed(3)} ms, max ${videoLate.max.toFixed(3)} ms; ` +
    `AudioFrames: p50 ${audioLate.p50.toFixed(3)} ms, p99 ${audioLate.p99.toFixed(3)} ms, max ${audioLate.max.toFixed(3)} ms`);
  console.log(`  ${spacedLateness.length} items due >= 5 ms after the one before: p50 ${spaced.p50.toFixed(3)} ms, p99 ${spaced.p99.toFixed(3)} ms, max ${spaced.max.toFixed(3)} ms; ` +
    `${crowdedLateness.length} due within 5 ms of it: p50 ${crowded.p50.toFixed(3)} ms, p99 ${crowded.p99.toFixed(3)} ms, max ${crowded.max.toFixed(3)} ms`);
  console.log(`drift of the last item: ${((avElapsed - (lastTime - firstTime)) * 1000).toFixed(2)} ms; late items: ${stats.lateFrames}; ` +
    `frames ${stats.frames}, audio packets ${stats.audioPackets}, audio samples ${stats.audioSamples}`);
  console.log('A/V offset (beep - flash) measured by test/helpers/av-sync.ts; goal: under 10 ms at the end');
  describeSync('source (the judge on the fixture)', measureSync(source));
  describeSync('library, recorded by nginx-rtmp', measureSync(await settledFile(rtmp.recordingOf('pace-av'))));
  if (process.env.PACE_AV_REFERENCE !== '0') {
    const reference = measureCommand('ffmpeg -re', 1, 'ffmpeg', ['-v', 'error', '-re', '-i', source, '-t', String(avSeconds),
      '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', '-c:a', 'aac', '-b:a', '128k', ...flv, rtmp.recordUrl('pace-av-cli')]);
    describeSync(`ffmpeg CLI -re (the same push; ${(1 / reference.fps).toFixed(1)} s), recorded by nginx-rtmp`, measureSync(await settledFile(rtmp.recordingOf('pace-av-cli'))));
  }
} finally {
  await rtmp.stop();
}
