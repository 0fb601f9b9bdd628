// The cluster's state in etcd, one key per fact, under one prefix. What an operator wants is kept
// apart from what the cluster decided and from what is true now, as Kubernetes keeps spec from
// status: the API writes `streams/`, the elected placer writes `assign/`, a node writes `owner/`
// and `status/` for what it runs, under its lease, so that they vanish with it.
//
//   streams/<id>  DesiredStream   the spec and what is wanted of it (running, stopped, finished)
//   nodes/<name>  NodeRecord      a member, under its lease: gone when the node is
//   leader        <node name>     the placer, under its lease (created only where absent)
//   assign/<id>   Assignment      the node a stream is placed on, written by the placer
//   owner/<id>    <node name>     the node running it, under its lease, created only where absent:
//                                 its create revision is the run's fencing token
//   status/<id>   StreamResource  the run as its owner sees it, written only while it owns it
//   publish-secret                the publish tokens' secret (base64), created only where absent
import type { StreamSpec } from '../spec';
import type { Desired } from '../store';

export const PREFIX = 'streamcoder/';

export const keys = {
  stream: (id: string) => `${PREFIX}streams/${id}`,
  node: (name: string) => `${PREFIX}nodes/${name}`,
  leader: `${PREFIX}leader`,
  assign: (id: string) => `${PREFIX}assign/${id}`,
  owner: (id: string) => `${PREFIX}owner/${id}`,
  status: (id: string) => `${PREFIX}status/${id}`,
  /** The publish-token secret every node signs and checks with (made by the first node). */
  publishSecret: `${PREFIX}publish-secret`,
};

export type KeyKind = 'streams' | 'nodes' | 'leader' | 'assign' | 'owner' | 'status';

/** The kind of a key and the name in it: `streamcoder/assign/s-1` -> ['assign', 's-1']. */
export function parseKey(key: string): [KeyKind, string] | null {
  if (!key.startsWith(PREFIX)) return null;
  const rest = key.slice(PREFIX.length);
  if (rest === 'leader') return ['leader', ''];
  const slash = rest.indexOf('/');
  if (slash < 0) return null;
  const kind = rest.slice(0, slash);
  if (!['streams', 'nodes', 'assign', 'owner', 'status'].includes(kind)) return null;
  return [kind as KeyKind, rest.slice(slash + 1)];
}

export interface DesiredStream {
  spec: StreamSpec;
  desired: Desired;
  createdAt: number;
  /** Bumped by a restart through any node: the owner restarts the run when it changes. */
  restarts: number;
}

export interface NodeRecord {
  name: string;
  state: 'up' | 'draining';
  advertise: string | null;
  maxStreams: number;
  startedAt: number;
  load: number;
  cpus: number;
}

export interface Assignment {
  node: string;
  at: number;
}
