// The streams of one service: each a StreamSupervisor, and what the operator wants of it
// (running, stopped; finished once its input ended) kept in the store so a restarted service
// resumes them. Closing the service stops every run but keeps what was wanted.
import crypto from 'node:crypto';
import { StreamStore, type Desired } from './store';
import { StreamSupervisor, type SupervisionOptions } from './supervisor';
import { runBounds, storedSpecFaults, type InputPolicy, type StreamSpec } from './spec';
import type { Streams } from './streams';
import { streamView, type StreamView } from './view';

/** `text` on one line: its control characters written as escapes (\\n, \\x1b), so no quoted text can forge a log line. */
export function escapeControl(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

export class ServiceError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

export interface StreamServiceOptions {
  dataDir: string;
  supervision: SupervisionOptions;
  /** Streams the service holds at most (running or not). */
  maxStreams: number;
  /** Where inputs may come from: the streams file is read back through it too. */
  inputPolicy: InputPolicy;
  /** Told every change of a stream's state, as one line (URLs and errors masked). */
  onEvent?: (line: string) => void;
}

export class StreamService implements Streams {
  private readonly streams = new Map<string, { supervisor: StreamSupervisor; desired: Desired }>();
  private readonly store: StreamStore;
  private closing = false;

  constructor(readonly options: StreamServiceOptions) {
    this.store = new StreamStore(options.dataDir);
  }

  /**
   * Takes the stored streams back, each through the API's checks, and starts those that were
   * running. Throws, having started nothing, when the streams file cannot be taken whole.
   */
  resume(): void {
    const policy = this.options.inputPolicy;
    for (const stored of this.store.load((spec) => storedSpecFaults(spec, policy))) {
      const supervisor = this.add(stored.spec, stored.desired, stored.createdAt);
      if (stored.desired === 'running') supervisor.start();
      else supervisor.state = stored.desired;
    }
  }

  private add(spec: StreamSpec, desired: Desired, createdAt = Date.now()): StreamSupervisor {
    const supervisor = new StreamSupervisor(spec, this.options.supervision, createdAt, runBounds(spec, this.options.inputPolicy));
    const entry = { supervisor, desired };
    this.streams.set(spec.id, entry);
    let logged = '';
    supervisor.on('change', () => {
      if (this.options.onEvent && supervisor.state !== logged) {
        logged = supervisor.state;
        const view = streamView(supervisor, this.options.supervision.maxAttempts);
        const why = (view.state === 'retrying' || view.state === 'failed') && view.lastError ? `: ${view.lastError.message}` : '';
        const retry = view.nextRetryAt ? ` (attempt ${view.attempt.n} of ${view.attempt.of} at ${view.nextRetryAt})` : '';
        this.options.onEvent(escapeControl(`stream ${spec.id}: ${view.state}${why}${retry}`));
      }
      if (supervisor.state === 'finished' && entry.desired === 'running' && !this.closing) {
        entry.desired = 'finished';
        // Called from a child's exit: a failed write (a full disk) must not take the service down.
        try {
          this.persist();
        } catch (error) {
          this.options.onEvent?.(escapeControl(`could not save the streams file: ${(error as Error).message}`));
        }
      }
    });
    return supervisor;
  }

  private persist(): void {
    if (this.closing) return;
    this.store.save([...this.streams.values()].map(({ supervisor, desired }) => ({ spec: supervisor.spec, desired, createdAt: supervisor.createdAt })));
  }

  private entry(id: string) {
    const entry = this.streams.get(id);
    if (!entry) throw new ServiceError(404, `no stream '${id}'`);
    return entry;
  }

  create(spec: Omit<StreamSpec, 'id'> & { id?: string }): StreamView {
    const id = spec.id ?? `s-${crypto.randomBytes(4).toString('hex')}`;
    if (this.streams.has(id)) throw new ServiceError(409, `a stream '${id}' exists already`);
    if (this.streams.size >= this.options.maxStreams) throw new ServiceError(409, `the service holds ${this.options.maxStreams} streams at most (--max-streams)`);
    const supervisor = this.add({ ...spec, id }, 'running');
    this.persist();
    supervisor.start();
    return this.view(id);
  }

  view(id: string): StreamView {
    return streamView(this.entry(id).supervisor, this.options.supervision.maxAttempts);
  }

  thumbnail(id: string): Buffer | null {
    const { supervisor } = this.entry(id);
    return supervisor.running ? supervisor.thumbnail?.jpeg ?? null : null;
  }

  views(): StreamView[] {
    return [...this.streams.keys()].map((id) => this.view(id));
  }

  /** Every stream runs here. */
  localViews(): StreamView[] {
    return this.views();
  }

  async start(id: string): Promise<StreamView> {
    const entry = this.entry(id);
    entry.desired = 'running';
    this.persist();
    entry.supervisor.start();
    return this.view(id);
  }

  async stop(id: string): Promise<StreamView> {
    const entry = this.entry(id);
    entry.desired = 'stopped';
    this.persist();
    await entry.supervisor.stop();
    return this.view(id);
  }

  async restart(id: string): Promise<StreamView> {
    const entry = this.entry(id);
    entry.desired = 'running';
    this.persist();
    await entry.supervisor.restart();
    return this.view(id);
  }

  async remove(id: string): Promise<void> {
    const entry = this.entry(id);
    this.streams.delete(id);
    this.persist();
    await entry.supervisor.stop();
  }

  get size(): number {
    return this.streams.size;
  }

  /** Stops every run (each process ends), keeping in the store what was wanted. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.streams.values()].map(({ supervisor }) => supervisor.stop()));
  }
}
