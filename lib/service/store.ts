// The streams an operator asked for, kept in DATA/streams.json so they survive a restart of the
// service. Written atomically (a temp file, fsync, rename over the old one): a crash mid-write
// leaves the previous file whole, never half of one. Mode 0600: the specs hold the unmasked URLs.
import fs from 'node:fs';
import path from 'node:path';
import type { StreamSpec } from './spec';

/** `running`: to run (again after a restart); `stopped` by the operator; `finished`: the input ended. */
export type Desired = 'running' | 'stopped' | 'finished';

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

  load(): StoredStream[] {
    if (!fs.existsSync(this.file)) return [];
    const data = JSON.parse(fs.readFileSync(this.file, 'utf8')) as StoreFile;
    if (data.version !== 1 || !Array.isArray(data.streams)) throw new Error(`${this.file}: not a streams file of version 1`);
    return data.streams;
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
