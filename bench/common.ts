// Shared by the benchmarks: timing, medians, and the report lines they print.
import { spawnSync } from 'node:child_process';

export interface Measurement {
  name: string;
  fps: number;
}

/** Runs `fn` (which returns how many frames it handled) and gives frames per second. */
export async function measure(name: string, fn: () => number | Promise<number>): Promise<Measurement> {
  const started = performance.now();
  const frames = await fn();
  return { name, fps: frames / ((performance.now() - started) / 1000) };
}

/** Times a whole command that handles `frames` frames; fails loudly if the command fails. */
export function measureCommand(name: string, frames: number, command: string, args: string[]): Measurement {
  const started = performance.now();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  return { name, fps: frames / ((performance.now() - started) / 1000) };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs every measurement `rounds` times, interleaved so machine noise hits all alike; medians. */
export async function rounds(count: number, runs: (() => Promise<Measurement> | Measurement)[]): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>();
  for (let round = 0; round < count; round++) {
    for (const run of runs) {
      const { name, fps } = await run();
      samples.set(name, [...(samples.get(name) ?? []), fps]);
    }
  }
  return new Map([...samples].map(([name, values]) => [name, median(values)]));
}

export function report(title: string, results: Map<string, number>, reference: string): void {
  const base = results.get(reference)!;
  console.log(`\n${title}`);
  console.log(`${'what'.padEnd(44)} ${'fps'.padStart(8)} ${'ratio'.padStart(7)}`);
  for (const [name, fps] of results) {
    console.log(`${name.padEnd(44)} ${fps.toFixed(1).padStart(8)} ${(fps / base).toFixed(3).padStart(7)}`);
  }
}
