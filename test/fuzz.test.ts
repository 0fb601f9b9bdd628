// The project's own fuzzer (issue 9, "memory safety first"): mutants of tiny files in every codec
// and container the field crashes came from, and (issue 11) files with sound, with the fields
// that declare the picture size rewritten to small, odd, huge and zero values (and timestamps,
// time bases and sample sizes to edge values), decoded through the public Decoder API in child
// processes: the frame methods with sound on and off, the item methods with sound decoded,
// resampled and copied, and video copied. Zero crashes, zero
// hangs, no unbounded memory, nothing thrown but StreamcoderError. RELIABILITY.md has the runs.
// The regression corpus (every crash ever found) replays first. The campaign seed is the date
// (same mutants all day; STREAMCODER_FUZZ_SEED overrides it); a failure prints the command that
// rebuilds and re-runs each offending mutant, which also adds it to the corpus.
// Long runs: `npm run fuzz -- --count 100000`.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { costAlone, defaultWorkDir, mallocCheckAvailable, runJobs, underSanitizer, type Job, type JobResult, type PassResult, type RunOptions } from './helpers/fuzz/batches';
import { AMPLIFICATION, amplified, checkAmplification, cliCost, pastFloor, picturesOf } from './helpers/fuzz/amplification';
import { runCampaign } from './helpers/fuzz/campaign';
import { craftedHevc } from './helpers/crafted';
import { CORPUS_DIR, corpusJobs, loadCorpus, saveFindings } from './helpers/fuzz/corpus';
import { describePass, replayPlan } from './helpers/fuzz/plan';
import { formatPerSeed, formatSummary } from './helpers/fuzz/report';
import { loadSeeds, SEED_DIR, type Seed } from './helpers/fuzz/seeds';
import { distModule } from './helpers/workers';

const ROOT = path.join(__dirname, '..');
const today = new Date();
const SEED = Number(process.env.STREAMCODER_FUZZ_SEED ?? today.getUTCFullYear() * 10000 + (today.getUTCMonth() + 1) * 100 + today.getUTCDate());
const COUNT = Number(process.env.STREAMCODER_FUZZ_COUNT ?? 2500);
// The time box: about a minute of fuzzing on two cores, whatever the count.
const MAX_SECONDS = 50;
// Under AddressSanitizer (npm run test:asan) everything is 2-5x slower, and its shadow memory and
// quarantine add hundreds of MB to every process: fewer mutants, a higher memory bound.
const ASAN = underSanitizer();
const MAX_RSS_MB = ASAN ? 4096 : 1536;
const MIN_MUTANTS = ASAN ? 100 : 500;

let seeds: Seed[];
let workDir: string;
let options: RunOptions;

beforeAll(async () => {
  // The runner decodes with dist/: refuse a stale build.
  distModule('index');
  distModule('decoder');
  seeds = await loadSeeds();
  workDir = defaultWorkDir();
  options = { root: ROOT, workDir, hangMs: 10_000, maxRssBytes: MAX_RSS_MB * 2 ** 20, mallocCheck: mallocCheckAvailable() };
}, 120_000);

afterAll(() => {
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

function describeBad(r: JobResult, name: string): string {
  const v = r.verdict;
  if ('detail' in v) return `${name}: ${v.kind}: ${v.detail}`;
  return `${name}: ${v.kind}`;
}

test('every seed is made, decodes clean, and declares its size where the structure-aware mutations look for it', async () => {
  expect(seeds.length).toBeGreaterThanOrEqual(15);
  for (const seed of seeds) expect(seed.fields.map((f) => f.name), seed.name).not.toEqual([]);
  const codecs = new Set(seeds.map((s) => s.codec));
  for (const codec of ['h264', 'hevc', 'mpeg4', 'vp9']) expect(codecs).toContain(codec);
  // The parameter sets themselves, not only the containers' copies of the size.
  for (const name of ['h264.mp4', 'h264.ts', 'h264.flv', 'h264-annexb.h264', 'hevc.mp4', 'hevc-odd-41x25.mkv']) {
    expect(seeds.find((s) => s.name === name)!.fields.some((f) => f.name.includes('-sps')), name).toBe(true);
  }
  // With sound (issue 11): the common audio codecs in every container that carries them.
  const sound = seeds.filter((s) => (s.audioStreams ?? 0) > 0);
  expect(sound.length).toBeGreaterThanOrEqual(8);
  expect(new Set(sound.map((s) => s.container))).toEqual(new Set(['mp4', 'mpegts', 'matroska', 'flv', 'avi']));
  expect(sound.some((s) => s.audioStreams === 2)).toBe(true);
  // Unmutated, every seed decodes without a single error in every format and method: the
  // mutants' errors come from the mutations.
  const jobs = seeds.map((seed, id) => ({ id, file: path.join(SEED_DIR, seed.name), passes: replayPlan(seed.audioStreams ?? 0) }));
  const results = await runJobs(jobs, options);
  expect(results.map((r) => `${seeds[r.job.id].name}: ${r.verdict.kind}${'detail' in r.verdict ? `: ${r.verdict.detail}` : ''}`)).toEqual(seeds.map((s) => `${s.name}: ok`));
  // And the audio passes do what they say: the item methods deliver sound (decoded or copied)
  // where there is sound and none where there is not; the frame methods deliver every picture
  // and drop the sound, counted.
  const audioSeen = results.flatMap((r) => r.job.passes.map((pass, i) => {
    const p = (r.verdict as { passes: PassResult[] }).passes[i];
    const hasSound = (seeds[r.job.id].audioStreams ?? 0) > 0;
    const item = ['item', 'itemInto', 'readItem', 'iterate'].includes(pass.api);
    const heard = pass.audio === undefined ? 'off' : !hasSound ? p.audio === 0 && p.audioSkipped === 0 : item ? p.audio! > 0 : p.audioSkipped! > 0;
    return `${seeds[r.job.id].name} ${describePass(pass)}: ${p.frames > 0 ? 'pictures' : 'NO PICTURES'}, ${heard === true ? 'sound as asked' : heard === false ? 'SOUND NOT AS ASKED' : 'sound off'}`;
  }));
  expect(audioSeen.filter((line) => /NO PICTURES|NOT AS ASKED/.test(line))).toEqual([]);
}, 180_000);

test('the harness pins crashes, hangs, memory and foreign errors on the job that caused them', async () => {
  const file = path.join(workDir, 'clean.mp4');
  fs.writeFileSync(file, seeds.find((s) => s.name === 'h264.mp4')!.bytes);
  const clean = { file, passes: [{ api: 'frame' as const, pixelFormat: 'rgb24' as const }] };
  const jobs: Job[] = [
    { id: 1, ...clean },
    { id: 2, ...clean, fault: 'crash-later' },
    { id: 3, ...clean },
    { id: 4, ...clean, fault: 'segv' },
    { id: 5, ...clean, passes: [{ api: 'no-such-api' as never, pixelFormat: 'gray' }] },
    { id: 6, ...clean, fault: 'hang' },
    { id: 7, ...clean, fault: 'memory' },
    { id: 8, ...clean, fault: 'abort' },
    { id: 9, ...clean },
  ];
  const results = await runJobs(jobs, { ...options, hangMs: 1000, maxRssBytes: 512 * 2 ** 20 });
  const kinds = results.map((r) => `${r.job.id}:${r.verdict.kind}`);
  expect(kinds).toEqual(['1:ok', '2:crash', '3:ok', '4:crash', '5:failure', '6:hang', '7:memory', '8:crash', '9:ok']);
  expect(results.filter((r) => r.verdict.kind === 'crash').map((r) => 'detail' in r.verdict && r.verdict.detail.split(/[ :]/)[0])).toEqual(['SIGSEGV', 'SIGSEGV', 'SIGABRT']);
}, 120_000);

test('the amplification check: a cost that no decode explains is a finding; a crafted file of huge pictures is not', async () => {
  const file = path.join(workDir, 'clean.mp4');
  fs.writeFileSync(file, seeds.find((s) => s.name === 'h264.mp4')!.bytes);
  const passes = [{ api: 'frame' as const, pixelFormat: 'rgb24' as const }, { api: 'gop' as const, pixelFormat: 'rgb24' as const }];
  const crafted = craftedHevc(workDir);
  const results = await runJobs([{ id: 1, file, passes, fault: 'amplify' }, { id: 2, file: crafted, passes }], options);
  for (const result of results) result.inputBytes = fs.statSync(result.job.file).size;
  // The crafted file's GOP outgrows the runner's maxGopBytes (256 MiB: three pictures): ERR_LIMIT.
  expect(results.map((r) => r.verdict.kind)).toEqual(['ok', 'error']);
  expect(pastFloor({ ms: results[0].ms!, peakRss: results[0].peakRss! })).toBe(true);
  await checkAmplification(results, (r) => costAlone(r.job, options), options);
  expect(results[0].verdict).toMatchObject({ kind: 'amplification', detail: expect.stringMatching(/more than 4x the ffmpeg CLI's/) });
  // The crafted file (20 KB, pictures of 100 MB in rgb24) is past the floor in memory, and is
  // compared: it costs us about what it costs the CLI.
  expect(results[1].peakRss!).toBeGreaterThan(AMPLIFICATION.floorRssBytes);
  const ours = (await costAlone(results[1].job, options))!;
  const cli = await cliCost(crafted, picturesOf(results[1]));
  console.log(`crafted 4096x8192 HEVC, ${results[1].inputBytes} bytes, ${picturesOf(results[1])} pictures a pass: ours ${Math.round(ours.ms)} ms and ${Math.round(ours.peakRss / 2 ** 20)} MB for ${passes.length} passes; the CLI ${Math.round(cli.ms)} ms and ${Math.round(cli.peakRss / 2 ** 20)} MB a pass`);
  expect(amplified(ours, cli, passes.length, results[1].inputBytes!)).toBeNull();
  expect(results[1].verdict.kind).toBe('error');
}, 180_000);

test('the regression corpus replays clean through every pixel format and read method', async () => {
  const entries = loadCorpus();
  expect(entries.length, `${CORPUS_DIR}/index.json lists the crashes found so far`).toBeGreaterThan(0);
  for (const e of entries) expect(fs.existsSync(path.join(CORPUS_DIR, e.file)), e.file).toBe(true);
  const jobs = corpusJobs(entries);
  const results = await runJobs(jobs, options);
  const bad = results.filter((r) => r.verdict.kind !== 'ok' && r.verdict.kind !== 'error');
  expect(bad.map((r) => describeBad(r, `${entries[r.job.id].file} (${entries[r.job.id].steps.join('; ')}; passes: ${r.job.passes.map(describePass).join(', ')})`)), `replay with: npm run fuzz -- --replay`).toEqual([]);
}, 300_000);

test(`${COUNT} mutants of campaign seed ${SEED}: no crash, no hang, no unbounded memory, only StreamcoderErrors`, async () => {
  const summary = await runCampaign({ ...options, seed: SEED, count: COUNT, jobs: 2, batch: 25, seeds, maxSeconds: MAX_SECONDS });
  const report = formatSummary(summary, { jobs: 2, maxRssMb: MAX_RSS_MB, hangMs: options.hangMs, root: ROOT, mallocCheck: options.mallocCheck }, ROOT);
  console.log(`${report}\n${formatPerSeed(summary)}`);
  if (summary.findings.length > 0 && process.env.STREAMCODER_FUZZ_SAVE === '1') saveFindings(summary, ROOT);
  // Enough mutants to mean something, even on a loaded machine; and many of them decode to the
  // end (a mutator that only made garbage would test the demuxers' first checks and nothing
  // else; 60-70 % decode clean in long runs).
  expect(summary.mutants).toBeGreaterThanOrEqual(Math.min(COUNT, MIN_MUTANTS));
  expect(summary.ok + summary.errored + summary.findings.length).toBe(summary.mutants);
  expect(summary.ok).toBeGreaterThan(0.4 * summary.mutants);
  expect(summary.frames).toBeGreaterThan(3 * summary.mutants);
  // The sound seeds' mutants reach the audio decoders and the copy path, and the frame methods
  // drop what they pass over.
  expect(summary.audioItems).toBeGreaterThan(summary.mutants);
  expect(summary.audioSkipped).toBeGreaterThan(0);
  expect(summary.findings.map((f) => `${f.kind} mutant ${f.id} (${f.seedName}): ${f.detail}`), report).toEqual([]);
}, 240_000);
