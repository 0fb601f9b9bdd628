// The streams an operator asked for, kept in DATA/streams.json so they survive a restart of the
// service. Written atomically (a temp file, fsync, rename over the old one): a crash mid-write
// leaves the previous file whole, never half of one. Mode 0600: the specs hold the unmasked URLs.
// Read back through the API's checks; a file that fails them stops the service, untouched.
import fs from 'node:fs';
import path from 'node:path';
import type { StreamSpec } from './spec';

/** `running`: to run (again after a restart); `stopped` by the operator; `finished`: the input ended. */
export type Desired = 'running' | 'stopped' | 'finished';
const DESIRED: readonly Desired[] = ['running', 'stopped', 'finished'];

export interface StoredStream {
  spec: StreamSpec;
  desired: Desired;
  createdAt: number;
}

interface StoreFile {
  version: 1;
  streams: StoredStream[];
}

export class StreamStore {
  readonly file: string;

  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, 'streams.json');
  }

  /**
   * The streams kept, each spec checked by `faultsOf` (the API's own checks). A file that cannot
   * be read whole, or holds a stream the API would refuse, is an error naming the file, every
   * fault and the way out: it is never replaced by an empty list (the next save would lose it).
   */
  load(faultsOf: (spec: unknown) => string[]): StoredStream[] {
    if (!fs.existsSync(this.file)) return [];
    let data: unknown;
    try {
      data = JSON.parse(fs.readFileSync(this.file, 'utf8'));
    } catch (error) {
      throw this.#unreadable([`not JSON (${(error as Error).message})`]);
    }
    const file = data as Partial<StoreFile> | null;
    if (typeof file !== 'object' || file === null || file.version !== 1 || !Array.isArray(file.streams)) {
      throw this.#unreadable(['not a streams file of version 1 ({"version": 1, "streams": [...]})']);
    }
    const faults: string[] = [];
    const ids = new Set<string>();
    file.streams.forEach((stored: Partial<StoredStream> | null, i) => {
      const where = `streams[${i}]${typeof stored?.spec?.id === 'string' ? ` (${stored.spec.id})` : ''}`;
      if (typeof stored !== 'object' || stored === null) return faults.push(`${where}: not an object`);
      if (!DESIRED.includes(stored.desired as Desired)) faults.push(`${where}.desired: one of ${DESIRED.join(', ')}`);
      if (!Number.isFinite(stored.createdAt)) faults.push(`${where}.createdAt: a time in milliseconds`);
      for (const fault of faultsOf(stored.spec)) faults.push(`${where}: ${fault}`);
      if (typeof stored.spec?.id === 'string') {
        if (ids.has(stored.spec.id)) faults.push(`${where}: the id ${stored.spec.id} twice`);
        ids.add(stored.spec.id);
      }
    });
    if (faults.length > 0) throw this.#unreadable(faults);
    return file.streams;
  }

  #unreadable(faults: string[]): Error {
    return new Error(`cannot load ${this.file}: ${faults.join('; ')}. The file is left as it is: ` +
      `correct it, or move it aside (mv ${this.file} ${this.file}.bad) to start with no streams`);
  }

  save(streams: StoredStream[]): void {
    const temp = `${this.file}.${process.pid}.tmp`;
    const fd = fs.openSync(temp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify({ version: 1, streams } satisfies StoreFile, null, 1));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, this.file);
  }
}
