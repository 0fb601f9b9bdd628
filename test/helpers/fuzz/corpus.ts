// The regression corpus: every crash, hang, memory blow-up or non-StreamcoderError the fuzzer
// ever found, kept as the small file that did it (test/fixtures/fuzz-regressions/), with a note
// in index.json of where it came from and what it did. test/fuzz.test.ts replays all of it on
// every run, through the passes that failed and through every format and read method.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Job } from './batches';
import type { Finding, FindingKind, Summary } from './campaign';
import { replayPlan, type Pass } from './plan';
import { SEEDS } from './seeds';

export const CORPUS_DIR = path.join(__dirname, '..', '..', 'fixtures', 'fuzz-regressions');
const INDEX = 'index.json';

export interface CorpusEntry {
  file: string;
  kind: FindingKind;
  /** What happened when it was found (signal, glibc's message, the thrown error). */
  detail: string;
  seedName: string;
  campaignSeed: number;
  mutant: number;
  fuzzVersion: number;
  /** Digest of the seed files the mutant was made from (seeds.ts): --only rebuilds it only where this matches. */
  seedsDigest?: string;
  steps: string[];
  /** The passes of the run that found it; the replay adds every format and method. */
  passes: Pass[];
  /** Date found, and the commit of the build it was found on. */
  found: string;
  build: string;
}

export function loadCorpus(dir = CORPUS_DIR): CorpusEntry[] {
  const index = path.join(dir, INDEX);
  if (!fs.existsSync(index)) return [];
  return (JSON.parse(fs.readFileSync(index, 'utf8')) as { entries: CorpusEntry[] }).entries;
}

/** The replay: each entry's own passes, then the full replay plan (for its seed's audio streams). Ids are entry numbers. */
export function corpusJobs(entries: readonly CorpusEntry[], dir = CORPUS_DIR): Job[] {
  const streams = (entry: CorpusEntry) => SEEDS.find((s) => s.name === entry.seedName)?.audioStreams ?? 0;
  return entries.map((entry, id) => ({ id, file: path.join(dir, entry.file), passes: [...entry.passes, ...replayPlan(streams(entry))] }));
}

function buildId(root: string): string {
  try {
    const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'native'], { encoding: 'utf8' }).trim();
    return dirty ? `${commit} + uncommitted native/ changes` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

// Many mutants hit the same bug: keep a few per (kind, seed, first word of the detail, kind of
// the first mutation step), so the corpus stays small and varied.
function signature(f: Finding): string {
  return [f.kind, f.seedName, f.detail.split(/[\s:(]/)[0], (f.steps[0] ?? '').split(/[@ ]/)[0]].join('|');
}

/** Copies the summary's findings into the corpus (deduplicated); returns the new entries. */
export function saveFindings(summary: Summary, root: string, o: { dir?: string; perSignature?: number; max?: number } = {}): CorpusEntry[] {
  const dir = o.dir ?? CORPUS_DIR;
  fs.mkdirSync(dir, { recursive: true });
  const entries = loadCorpus(dir);
  const known = new Set(entries.map((e) => hashOf(fs.readFileSync(path.join(dir, e.file)))));
  const perSignature = new Map<string, number>();
  const added: CorpusEntry[] = [];
  const build = buildId(root);
  for (const f of summary.findings) {
    if (added.length >= (o.max ?? 24)) break;
    const sig = signature(f);
    if ((perSignature.get(sig) ?? 0) >= (o.perSignature ?? 2)) continue;
    const bytes = fs.readFileSync(f.file);
    const hash = hashOf(bytes);
    if (known.has(hash)) continue;
    known.add(hash);
    perSignature.set(sig, (perSignature.get(sig) ?? 0) + 1);
    const file = `${f.kind}-${f.seedName.replace(/\.[^.]+$/, '')}-s${summary.campaignSeed}-m${f.id}${path.extname(f.seedName)}`;
    fs.writeFileSync(path.join(dir, file), bytes);
    const entry: CorpusEntry = {
      file, kind: f.kind, detail: f.detail, seedName: f.seedName, campaignSeed: summary.campaignSeed, mutant: f.id,
      fuzzVersion: summary.fuzzVersion, seedsDigest: summary.seedsDigest, steps: f.steps, passes: f.passes, found: new Date().toISOString().slice(0, 10), build,
    };
    entries.push(entry);
    added.push(entry);
  }
  if (added.length > 0) fs.writeFileSync(path.join(dir, INDEX), `${JSON.stringify({ entries }, null, 1)}\n`);
  return added;
}

function hashOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
