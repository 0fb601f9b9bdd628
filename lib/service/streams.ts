// What the HTTP API asks of the streams, whoever holds them: the single-machine StreamService
// (a JSON file, every stream run here) or a ClusterService (the streams in etcd, each run on one
// node of several). The API neither knows nor cares which.
import type { StreamSpec } from './spec';
import type { StreamView } from './view';

/** A stream as the API shows it; in a cluster, with the node that runs it (null: none yet). */
export type StreamResource = StreamView & { node?: string | null; stale?: boolean };

/** A node of a cluster as GET /v1/nodes shows it. */
export interface NodeView {
  name: string;
  state: 'up' | 'draining';
  /** Where its API answers (--advertise), null when it did not say. */
  advertise: string | null;
  maxStreams: number;
  /** Streams it runs now, and those placed on it. */
  running: number;
  assigned: number;
  streams: string[];
  /** The 1-minute load average of its machine, and its cores. */
  load: number;
  cpus: number;
  startedAt: string;
}

export interface Streams {
  create(spec: Omit<StreamSpec, 'id'> & { id?: string }): StreamResource | Promise<StreamResource>;
  view(id: string): StreamResource | Promise<StreamResource>;
  views(): StreamResource[] | Promise<StreamResource[]>;
  /** The views of the streams this process runs (its /metrics). */
  localViews(): StreamResource[];
  start(id: string): Promise<StreamResource>;
  stop(id: string): Promise<StreamResource>;
  restart(id: string): Promise<StreamResource>;
  remove(id: string): Promise<void>;
  /** The last JPEG of what the stream sends, while it runs in this process's care; null otherwise (a 404 for no such stream). */
  thumbnail(id: string): Buffer | null;
  /** Streams held (here: all; in a cluster: all the cluster's, as last known). */
  readonly size: number;
  close(): Promise<void>;
}
