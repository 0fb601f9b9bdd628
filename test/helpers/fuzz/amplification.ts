// The amplification check: what one mutant costs us, in time and resident memory, against what
// the ffmpeg CLI costs decoding the same file into the same pictures. A file of a few KB that
// declares huge pictures costs both of us a lot (every picture is decoded and converted at its
// declared size, garbage or not), and that is no finding; a file that makes us spend several
// times what the CLI spends on it is: an application that decodes strangers' files would pay it
// per file. Only a mutant past a floor of cost is compared (a CLI run per mutant would halve the
// fuzzer's rate), re-measured alone first, since in a batch it shares the machine.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { rssBytes, type JobResult, type RunOptions } from './batches';

/** Below both floors a mutant is cheap whatever its size; the ratios are generous for noise. */
export const AMPLIFICATION = {
  floorMs: 1500,
  floorRssBytes: 512 * 2 ** 20,
  /** Ours may take this many times the CLI's time for the same pictures... */
  timeRatio: 4,
  /** ...plus this much (a process start, the first open). */
  timeSlackMs: 500,
  memoryRatio: 2,
  memorySlackBytes: 256 * 2 ** 20,
};

export interface Cost {
  ms: number;
  peakRss: number;
}

/**
 * The CLI decoding `frames` pictures of `file`'s first video stream into rgb24 (the conversion
 * our frame methods do) and throwing them away, with its peak resident memory sampled as the
 * runner samples ours. A CLI that fails on the file costs what it cost until it stopped.
 */
export function cliCost(file: string, frames: number, timeoutMs = 60_000): Promise<Cost> {
  return new Promise((resolve) => {
    const started = performance.now();
    const args = ['-nostdin', '-v', 'quiet', '-i', file, '-map', '0:v:0', '-frames:v', String(Math.max(1, frames)), '-pix_fmt', 'rgb24', '-f', 'null', '-'];
    const child = spawn('ffmpeg', args, { stdio: 'ignore' });
    let peakRss = 0;
    const poll = setInterval(() => {
      if (child.pid !== undefined) peakRss = Math.max(peakRss, rssBytes(child.pid));
    }, 10);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', () => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, peakRss });
    });
  });
}

export function pastFloor(cost: Cost): boolean {
  return cost.ms >= AMPLIFICATION.floorMs || cost.peakRss >= AMPLIFICATION.floorRssBytes;
}

/**
 * Whether `ours` (all of a job's passes) is amplified against the CLI's cost for one pass of
 * the same pictures: a detail for the finding, or null. Each of our passes opens and decodes
 * afresh, so the CLI's time counts once per pass; memory is a peak, counted once.
 */
export function amplified(ours: Cost, cli: Cost, passes: number, inputBytes: number): string | null {
  const a = AMPLIFICATION;
  const timeBound = a.timeRatio * cli.ms * passes + a.timeSlackMs;
  const memoryBound = a.memoryRatio * cli.peakRss + a.memorySlackBytes;
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  const perKb = `${inputBytes} input bytes`;
  if (ours.ms > timeBound) {
    return `took ${Math.round(ours.ms)} ms for ${perKb}, more than ${a.timeRatio}x the ffmpeg CLI's ${Math.round(cli.ms)} ms per pass for the same pictures (${passes} passes)`;
  }
  if (ours.peakRss > memoryBound) {
    return `peaked at ${mb(ours.peakRss)} MB for ${perKb}, more than ${a.memoryRatio}x the ffmpeg CLI's ${mb(cli.peakRss)} MB for the same pictures`;
  }
  return null;
}

/** The pictures a job's passes decoded at most in one pass: what the CLI is asked to decode. */
export function picturesOf(result: JobResult): number {
  const passes = 'passes' in result.verdict ? result.verdict.passes : [];
  return passes.reduce((most, p) => Math.max(most, p.frames), 0);
}

/**
 * Checks a batch's results past the floor: each is re-run alone (`again`, which measures the job
 * with the machine to itself) and compared with the CLI. An amplified job's verdict becomes an
 * 'amplification' finding.
 */
export async function checkAmplification(results: JobResult[], again: (result: JobResult) => Promise<Cost | null>, o: Pick<RunOptions, 'hangMs'>): Promise<void> {
  for (const result of results) {
    if (result.verdict.kind !== 'ok' && result.verdict.kind !== 'error') continue;
    if (result.ms === undefined || result.peakRss === undefined || !pastFloor({ ms: result.ms, peakRss: result.peakRss })) continue;
    const ours = await again(result);
    if (ours === null || !pastFloor(ours)) continue;
    const cli = await cliCost(result.job.file, picturesOf(result), Math.max(60_000, o.hangMs * 3));
    const detail = amplified(ours, cli, result.job.passes.length, result.inputBytes ?? fs.statSync(result.job.file).size);
    if (detail !== null) result.verdict = { kind: 'amplification', detail, reproduced: true };
  }
}
