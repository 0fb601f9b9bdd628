// npm run fuzz -- [--count 100000] [--seed N] [--jobs 2] [...]: the project's own fuzzer.
//
// Mutants of tiny seed files (H.264 in MP4/TS/FLV/Annex-B/MKV, HEVC, MPEG-4 part 2, VP9, VP8,
// AV1, MJPEG, MPEG-2, Sorenson H.263, ProRes; and files with sound: AAC, MP3, MP2, Opus, Vorbis,
// PCM, two tracks), with structure-aware changes to the fields that declare the picture size and
// the timing, are decoded through the public Decoder API in child processes: the frame methods
// (sound on and off), the item methods with sound decoded, converted and copied, video copied. A
// crash, a hang, memory past the bound or any error that is not a StreamcoderError is a finding;
// findings are copied into test/fixtures/fuzz-regressions/ (unless --no-save), which npm test
// replays. Exit code 1 when there are findings. See test/helpers/fuzz/ for the parts.
//
//   --count N         mutants (default 1000)       --seed N      campaign seed (default: from the clock, printed)
//   --start N         first mutant index           --only a,b,c  just these mutants (reproducing a finding)
//   --jobs N          child processes at a time (default 2)
//   --batch N         mutants per child (default 25)
//   --hang-ms N       no progress for this long is a hang, once confirmed alone with 3x (default 10000)
//   --max-rss-mb N    a child over this is unbounded memory (default 1536; 4096 under ASan)
//   --max-pixels N    passed to every Decoder as the maxPixels option
//   --max-seconds N   stop starting batches after N seconds
//   --root DIR        fuzz another checkout's build (its dist/ and native addon)
//   --replay          replay the regression corpus instead     --file F   replay file F (repeatable; audio stream 1 too)
//   --no-malloc-check without glibc's checking malloc          --no-save  do not add findings to the corpus
//   --keep            keep the work dir and every mutant in it                        --verbose  one line per mutant
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultWorkDir, mallocCheckAvailable, runJobs, underSanitizer, type JobResult, type RunOptions } from '../test/helpers/fuzz/batches';
import { emptySummary, runCampaign, tally } from '../test/helpers/fuzz/campaign';
import { CORPUS_DIR, corpusJobs, loadCorpus, saveFindings } from '../test/helpers/fuzz/corpus';
import { describePass, replayPlan } from '../test/helpers/fuzz/plan';
import { formatPerSeed, formatSummary, type ReportContext } from '../test/helpers/fuzz/report';
import { loadSeeds, SEEDS } from '../test/helpers/fuzz/seeds';

const ROOT = path.join(__dirname, '..');

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    start: { type: 'string', default: '0' },
    only: { type: 'string' },
    jobs: { type: 'string', default: '2' },
    batch: { type: 'string', default: '25' },
    'hang-ms': { type: 'string', default: '10000' },
    'max-rss-mb': { type: 'string' },
    'max-pixels': { type: 'string' },
    'max-seconds': { type: 'string' },
    root: { type: 'string', default: ROOT },
    replay: { type: 'boolean', default: false },
    file: { type: 'string', multiple: true },
    'no-malloc-check': { type: 'boolean', default: false },
    'no-save': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
});

function int(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} wants a non-negative integer, got ${value}`);
  return n;
}

function describeResult({ job, verdict }: JobResult, label: string): string {
  const head = `${label}: ${verdict.kind}${'slow' in verdict && verdict.slow ? ' (slow)' : ''}`;
  if (!('passes' in verdict)) return `${head}: ${verdict.detail}`;
  const passes = verdict.passes.map((p, i) => `    ${describePass(job.passes[i])}: ${p.frames} frames${p.audio ? `, ${p.audio} audio items` : ''}${p.audioSkipped ? `, ${p.audioSkipped} audio skipped` : ''}${p.errors.length ? `, ${p.errors.join(' ')}` : ''}${p.failure ? `, FAILURE ${p.failure}` : ''}${p.messages.map((m) => `\n      ${m}`).join('')}`);
  return [head, ...passes].join('\n');
}

async function main(): Promise<number> {
  const root = path.resolve(args.root!);
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error(`${root}/dist/index.js is missing: build first (npm run build)`);
  const mallocCheck = !args['no-malloc-check'] && mallocCheckAvailable();
  // ASan's shadow memory and quarantine make every process larger (see test/fuzz.test.ts).
  const maxRssMb = int('max-rss-mb', args['max-rss-mb'] ?? (underSanitizer() ? '4096' : '1536'));
  const workDir = defaultWorkDir();
  const run: RunOptions = {
    root, workDir, mallocCheck,
    hangMs: int('hang-ms', args['hang-ms']),
    maxRssBytes: maxRssMb * 2 ** 20,
    decoderOptions: args['max-pixels'] ? { maxPixels: int('max-pixels', args['max-pixels']) } : undefined,
  };
  const ctx: ReportContext = { jobs: int('jobs', args.jobs), maxRssMb, hangMs: run.hangMs, root, mallocCheck };

  if (args.replay || args.file) {
    // Replay: the corpus, or the given files, through every format and method.
    const entries = args.file ? [] : loadCorpus();
    const jobs = args.file ? args.file.map((file, id) => ({ id, file: path.resolve(file), passes: replayPlan(2) })) : corpusJobs(entries);
    const summary = emptySummary(0);
    const started = performance.now();
    const results = await runJobs(jobs, run);
    results.forEach((result, i) => {
      const name = args.file ? args.file[i] : `${CORPUS_DIR}/${entries[i].file}`;
      tally(summary, result, path.basename(name), args.file ? [] : entries[i].steps);
      if (args.verbose || (result.verdict.kind !== 'ok' && result.verdict.kind !== 'error')) console.log(describeResult(result, name));
    });
    summary.seconds = (performance.now() - started) / 1000;
    console.log(`replayed ${results.length} files in ${summary.seconds.toFixed(1)} s: ${summary.ok} clean, ${summary.errored} StreamcoderError, ${summary.findings.length} findings`);
    if (!args.keep) fs.rmSync(workDir, { recursive: true, force: true });
    return summary.findings.length > 0 ? 1 : 0;
  }

  const seed = args.seed !== undefined ? int('seed', args.seed) : Date.now() % 2 ** 31;
  const seeds = await loadSeeds();
  console.log(`fuzz: campaign seed ${seed}; ${SEEDS.length} seeds; ${seeds.reduce((n, s) => n + s.fields.length, 0)} size fields located; work dir ${workDir}; build ${root}`);
  let lastPrint = 0;
  const summary = await runCampaign({
    ...run, seed, seeds,
    count: int('count', args.count), start: int('start', args.start),
    only: args.only?.split(',').map((s) => int('only', s)),
    keepFiles: args.keep, jobs: ctx.jobs, batch: Math.max(1, int('batch', args.batch)),
    maxSeconds: args['max-seconds'] ? int('max-seconds', args['max-seconds']) : undefined,
    onResult: (result, seedName, steps) => {
      if (args.verbose) console.log(describeResult(result, `mutant ${result.job.id} of ${seedName} [${steps.join('; ')}] ${result.job.file}`));
    },
    onBatch: (s) => {
      if (args.verbose || performance.now() - lastPrint < 10_000) return;
      lastPrint = performance.now();
      console.log(`  ${s.mutants} mutants, ${(s.mutants / s.seconds).toFixed(1)}/s, ${s.findings.length} findings, ${s.seconds.toFixed(0)} s`);
    },
  });
  console.log(formatSummary(summary, ctx, ROOT));
  console.log(formatPerSeed(summary));
  if (summary.findings.length > 0 && !args['no-save']) {
    const added = saveFindings(summary, root);
    console.log(`regression corpus: ${added.length} new file(s) in ${path.relative(process.cwd(), CORPUS_DIR)}${added.map((e) => `\n  ${e.file}`).join('')}`);
  }
  const keep = args.keep || summary.findings.length > 0;
  if (!keep) fs.rmSync(workDir, { recursive: true, force: true });
  else console.log(`work dir kept: ${workDir}`);
  return summary.findings.length > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(2);
});
