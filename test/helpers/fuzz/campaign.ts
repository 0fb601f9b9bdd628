// A fuzz campaign: mutants `start .. start+count-1` of campaign seed S (or just `only`), written
// to a work dir in batches, decoded by `jobs` children at a time (batches.ts), tallied. Files of
// mutants that crashed, hung, failed or ran out of memory are kept; the rest are deleted as soon
// as their batch is done.
import fs from 'node:fs';
import path from 'node:path';
import { checkAmplification } from './amplification';
import { costAlone, runJobs, type Job, type JobResult, type RunOptions, type Verdict } from './batches';
import { makeMutant } from './mutate';
import { fuzzPlan, type Pass } from './plan';
import { Random } from './prng';
import { FUZZ_VERSION, seedsDigest, type Seed } from './seeds';

export interface CampaignOptions extends RunOptions {
  seed: number;
  count: number;
  start?: number;
  /** Only these mutant indexes (reproducing a finding). */
  only?: number[];
  jobs: number;
  /** Mutants per child process. */
  batch: number;
  seeds: Seed[];
  /** Stop starting new batches after this many seconds (the test's time box). */
  maxSeconds?: number;
  onBatch?: (summary: Summary) => void;
  /** Keep every mutant's file, not only the findings'. */
  keepFiles?: boolean;
  /** Every mutant's verdict as it comes (for --verbose). */
  onResult?: (result: JobResult, seedName: string, steps: string[]) => void;
}

export type FindingKind = 'crash' | 'hang' | 'memory' | 'amplification' | 'failure';

export interface Finding {
  kind: FindingKind;
  /** Mutant index in the campaign (or corpus entry number in a replay). */
  id: number;
  seedName: string;
  steps: string[];
  passes: Pass[];
  detail: string;
  /** The crash/hang/memory happened again with the mutant alone in a fresh process. */
  reproduced: boolean;
  /** The mutant's file, kept in the work dir. */
  file: string;
}

export interface Summary {
  campaignSeed: number;
  fuzzVersion: number;
  /** Of the seed files' bytes (see seeds.ts); empty for a replay. */
  seedsDigest: string;
  mutants: number;
  ok: number;
  /** Mutants where some pass ended in a StreamcoderError, and how often each code came. */
  errored: number;
  errorCodes: Record<string, number>;
  findings: Finding[];
  /** Mutants that outlived the hang limit in a batch but finished alone with 3x the time. */
  slow: number[];
  frames: number;
  /** AudioFrames and audio packets delivered by the item passes, and audio the frame passes dropped (audioSkipped). */
  audioItems: number;
  audioSkipped: number;
  seconds: number;
  perSeed: Record<string, { mutants: number; ok: number; errored: number; findings: number }>;
  /** Mutants of the requested range not run because maxSeconds ran out. */
  skipped: number;
  /** The most resident memory a child had while decoding one mutant, and the slowest mutant. */
  peakRss: { bytes: number; id: number };
  slowest: { ms: number; id: number };
  /** The most a mutant cost per KB of its file: time, and resident memory it added (amplification). */
  perKb: { ms: number; msId: number; mb: number; mbId: number };
}

export function emptySummary(campaignSeed: number): Summary {
  return { campaignSeed, fuzzVersion: FUZZ_VERSION, seedsDigest: '', mutants: 0, ok: 0, errored: 0, errorCodes: {}, findings: [], slow: [], frames: 0, audioItems: 0, audioSkipped: 0, seconds: 0, perSeed: {}, skipped: 0, peakRss: { bytes: 0, id: -1 }, slowest: { ms: 0, id: -1 }, perKb: { ms: 0, msId: -1, mb: 0, mbId: -1 } };
}

function extensionOf(name: string): string {
  return path.extname(name) || '.bin';
}

/** Adds one job's verdict to the summary; returns the finding if it is one. */
export function tally(summary: Summary, result: JobResult, seedName: string, steps: string[]): Finding | null {
  const { verdict, job } = result;
  summary.mutants++;
  const seedStats = (summary.perSeed[seedName] ??= { mutants: 0, ok: 0, errored: 0, findings: 0 });
  seedStats.mutants++;
  if ((result.peakRss ?? 0) > summary.peakRss.bytes) summary.peakRss = { bytes: result.peakRss!, id: job.id };
  if ((result.ms ?? 0) > summary.slowest.ms) summary.slowest = { ms: result.ms!, id: job.id };
  if (result.inputBytes) {
    const kb = result.inputBytes / 1024;
    if ((result.ms ?? 0) / kb > summary.perKb.ms) Object.assign(summary.perKb, { ms: result.ms! / kb, msId: job.id });
    const added = Math.max(0, (result.peakRss ?? 0) - (result.baseRss ?? 0)) / 2 ** 20;
    if (added / kb > summary.perKb.mb) Object.assign(summary.perKb, { mb: added / kb, mbId: job.id });
  }
  if (verdict.kind === 'ok' || verdict.kind === 'error') {
    if (verdict.slow) summary.slow.push(job.id);
    summary.frames += verdict.passes.reduce((n, p) => n + p.frames, 0);
    summary.audioItems += verdict.passes.reduce((n, p) => n + (p.audio ?? 0), 0);
    summary.audioSkipped += verdict.passes.reduce((n, p) => n + (p.audioSkipped ?? 0), 0);
    if (verdict.kind === 'ok') {
      summary.ok++;
      seedStats.ok++;
      return null;
    }
    summary.errored++;
    seedStats.errored++;
    for (const code of new Set(verdict.passes.flatMap((p) => p.errors))) summary.errorCodes[code] = (summary.errorCodes[code] ?? 0) + 1;
    return null;
  }
  seedStats.findings++;
  const finding: Finding = {
    kind: verdict.kind, id: job.id, seedName, steps, passes: job.passes, file: job.file,
    detail: verdict.detail, reproduced: verdict.kind === 'failure' ? true : (verdict as Extract<Verdict, { reproduced: boolean }>).reproduced,
  };
  summary.findings.push(finding);
  return finding;
}

interface Planned {
  job: Job;
  seedName: string;
  steps: string[];
}

/** Mutant `index` of campaign `seed`: its bytes, what was done, and how the runner decodes it. */
export function plannedMutant(seeds: readonly Seed[], seed: number, index: number): { bytes: Uint8Array; seedName: string; steps: string[]; passes: Pass[] } {
  const random = Random.for(seed, index);
  const mutant = makeMutant(seeds, random);
  return { bytes: mutant.bytes, seedName: mutant.seed.name, steps: mutant.steps, passes: fuzzPlan(random, mutant.seed.audioStreams ?? 0) };
}

export async function runCampaign(o: CampaignOptions): Promise<Summary> {
  const started = performance.now();
  const summary = emptySummary(o.seed);
  summary.seedsDigest = seedsDigest(o.seeds);
  const start = o.start ?? 0;
  const indexes = o.only ?? Array.from({ length: o.count }, (_, i) => start + i);
  const batches: number[][] = [];
  for (let i = 0; i < indexes.length; i += o.batch) batches.push(indexes.slice(i, i + o.batch));
  let next = 0;
  const outOfTime = () => o.maxSeconds !== undefined && (performance.now() - started) / 1000 > o.maxSeconds;

  const worker = async () => {
    while (next < batches.length && !outOfTime()) {
      const planned: Planned[] = batches[next++].map((index) => {
        const m = plannedMutant(o.seeds, o.seed, index);
        const file = path.join(o.workDir, `s${o.seed}-m${index}-${m.seedName.replace(/\.[^.]+$/, '')}${extensionOf(m.seedName)}`);
        fs.writeFileSync(file, m.bytes);
        return { job: { id: index, file, passes: m.passes }, seedName: m.seedName, steps: m.steps };
      });
      const results = await runJobs(planned.map((p) => p.job), o);
      for (const result of results) result.inputBytes = fs.statSync(result.job.file).size;
      await checkAmplification(results, (r) => costAlone(r.job, o), o);
      results.forEach((result, i) => {
        o.onResult?.(result, planned[i].seedName, planned[i].steps);
        if (tally(summary, result, planned[i].seedName, planned[i].steps) === null && !o.keepFiles) fs.rmSync(result.job.file, { force: true });
      });
      summary.seconds = (performance.now() - started) / 1000;
      o.onBatch?.(summary);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, worker));
  summary.skipped = indexes.length - summary.mutants;
  summary.seconds = (performance.now() - started) / 1000;
  summary.findings.sort((a, b) => a.id - b.id);
  return summary;
}
