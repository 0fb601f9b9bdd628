// Shared by the benchmarks: timing, medians, and the report lines they print.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Decoder, MediaItem } from '../lib';

export interface Measurement {
  name: string;
  fps: number;
  /** CPU seconds (user + system, every thread) the run took: this process's, or the command's. */
  cpu: number;
}

/**
 * Runs `fn` (which returns how many frames it handled) and gives frames per second, and the CPU
 * time of this whole process meanwhile (process.cpuUsage: every thread, the encoder's included).
 */
export async function measure(name: string, fn: () => number | Promise<number>): Promise<Measurement> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const frames = await fn();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { name, fps: frames / seconds, cpu: (used.user + used.system) / 1e6 };
}

const GNU_TIME = '/usr/bin/time';

/**
 * Times a whole command that handles `frames` frames; fails loudly if the command fails. Its CPU
 * time comes from its rusage, as GNU time (/usr/bin/time, Debian's `time` package) reports it;
 * NaN without GNU time.
 */
export function measureCommand(name: string, frames: number, command: string, args: string[]): Measurement {
  const timed = fs.existsSync(GNU_TIME);
  const rusage = path.join(os.tmpdir(), `streamcoder-bench-time-${process.pid}`);
  const started = performance.now();
  const result = timed
    ? spawnSync(GNU_TIME, ['-f', '%U %S', '-o', rusage, command, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  if (!timed) return { name, fps: frames / seconds, cpu: Number.NaN };
  const [user, system] = fs.readFileSync(rusage, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  fs.rmSync(rusage, { force: true });
  return { name, fps: frames / seconds, cpu: user + system };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs every measurement `rounds` times, interleaved so machine noise hits all alike; median fps. */
export async function rounds(count: number, runs: (() => Promise<Measurement> | Measurement)[]): Promise<Map<string, number>> {
  const results = await roundsWithCpu(count, runs);
  return new Map([...results].map(([name, { fps }]) => [name, fps]));
}

/** `rounds`, keeping the median CPU seconds of each measurement too. */
export async function roundsWithCpu(count: number, runs: (() => Promise<Measurement> | Measurement)[]): Promise<Map<string, { fps: number; cpu: number }>> {
  const samples = new Map<string, Measurement[]>();
  for (let round = 0; round < count; round++) {
    for (const run of runs) {
      const measurement = await run();
      samples.set(measurement.name, [...(samples.get(measurement.name) ?? []), measurement]);
    }
  }
  return new Map([...samples].map(([name, values]) => [name, { fps: median(values.map((m) => m.fps)), cpu: median(values.map((m) => m.cpu)) }]));
}

/**
 * Prints fps and the ratio to `reference` for each row; with CPU times (from `roundsWithCpu`), the
 * CPU seconds of a run and the CPU time per frame too.
 */
export function report(title: string, results: Map<string, number | { fps: number; cpu: number }>, reference: string, frames?: number): void {
  const fpsOf = (value: number | { fps: number }) => (typeof value === 'number' ? value : value.fps);
  const base = fpsOf(results.get(reference)!);
  const withCpu = [...results.values()].some((value) => typeof value !== 'number');
  const width = Math.max(44, ...[...results.keys()].map((name) => name.length));
  console.log(`\n${title}`);
  console.log(`${'what'.padEnd(width)} ${'fps'.padStart(8)} ${'ratio'.padStart(7)}${withCpu ? `${'CPU s'.padStart(8)}${frames ? ' CPU ms/frame' : ''}` : ''}`);
  for (const [name, value] of results) {
    const fps = fpsOf(value);
    let line = `${name.padEnd(width)} ${fps.toFixed(1).padStart(8)} ${(fps / base).toFixed(3).padStart(7)}`;
    if (typeof value !== 'number') line += `${value.cpu.toFixed(3).padStart(8)}${frames ? ((value.cpu / frames) * 1000).toFixed(2).padStart(13) : ''}`;
    console.log(line);
  }
}

/** Every remaining item of `dec` given to `put` (a sync writer method); returns the video packets. */
export function copySync(dec: Decoder<MediaItem>, put: (item: MediaItem) => void): number {
  let n = 0;
  for (let item = dec.extractItem(); item; item = dec.extractItem()) {
    put(item);
    if (item.kind === 'video-packet') n++;
  }
  return n;
}

/** The same the natural async way: `for await` and `await put(item)`. */
export async function copyAsync(dec: Decoder<MediaItem>, put: (item: MediaItem) => Promise<void>): Promise<number> {
  let n = 0;
  for await (const item of dec) {
    await put(item);
    if (item.kind === 'video-packet') n++;
  }
  return n;
}
