// Where each stream runs: a pure function of the cluster's state, run by the elected placer each
// time anything changes (level-triggered, as a Kubernetes controller: it looks at the whole state
// every time, so a missed event costs nothing but a late decision).
import type { Assignment, DesiredStream, NodeRecord } from './keys';

export interface ClusterState {
  streams: ReadonlyMap<string, DesiredStream>;
  /** The members alive (their lease holds their key). */
  nodes: ReadonlyMap<string, NodeRecord>;
  assign: ReadonlyMap<string, Assignment>;
  /** The node whose run holds each stream's owner key. */
  owner: ReadonlyMap<string, string>;
  /** Each run's state as its owner last wrote it (none: its owner has written none yet). */
  runState: ReadonlyMap<string, string>;
}

/** A decision: place stream `id` on `node`, or take its placement away (null). */
export interface Move {
  id: string;
  node: string | null;
  why: 'new' | 'node gone' | 'drain' | 'not running' | 'no capacity';
}

/** Whether a stream is between two runs: its owner is not (yet) the node it is placed on, or that run has not said it is past starting. */
function inTransit(state: ClusterState, id: string): boolean {
  const placed = state.assign.get(id)?.node;
  if (placed === undefined) return false;
  const run = state.runState.get(id);
  return state.owner.get(id) !== placed || run === undefined || run === 'starting';
}

export function place(state: ClusterState): Move[] {
  const moves: Move[] = [];
  const load = new Map<string, number>([...state.nodes.keys()].map((name) => [name, 0]));
  const wanted = [...state.streams.entries()]
    .filter(([, s]) => s.desired === 'running')
    .sort((a, b) => a[1].createdAt - b[1].createdAt || (a[0] < b[0] ? -1 : 1));
  const wantedIds = new Set(wanted.map(([id]) => id));

  for (const [id, a] of state.assign) {
    if (!wantedIds.has(id)) moves.push({ id, node: null, why: 'not running' });
    else if (state.nodes.has(a.node)) load.set(a.node, (load.get(a.node) ?? 0) + 1);
  }
  const room = (name: string) => {
    const node = state.nodes.get(name)!;
    return node.state === 'up' && (load.get(name) ?? 0) < node.maxStreams;
  };
  // The least loaded node with room, by its share of its capacity, then by name.
  const target = (): string | null => {
    let best: string | null = null;
    for (const name of [...state.nodes.keys()].sort()) {
      if (!room(name)) continue;
      const share = (n: string) => (load.get(n) ?? 0) / state.nodes.get(n)!.maxStreams;
      if (best === null || share(name) < share(best)) best = name;
    }
    return best;
  };

  for (const [id] of wanted) {
    const placed = state.assign.get(id);
    if (placed && state.nodes.has(placed.node)) continue;
    const node = target();
    if (node === null) {
      if (placed) moves.push({ id, node: null, why: 'no capacity' });
      continue;
    }
    load.set(node, (load.get(node) ?? 0) + 1);
    moves.push({ id, node, why: placed ? 'node gone' : 'new' });
  }

  // A draining node hands its streams over one at a time, each once the last one is running on
  // its new node: never more than one stream off the air for a drain.
  const busy = moves.some((m) => m.why === 'drain') || wanted.some(([id]) => inTransit(state, id));
  if (!busy) {
    const leaving = wanted.find(([id]) => {
      const node = state.nodes.get(state.assign.get(id)?.node ?? '');
      return node?.state === 'draining';
    });
    if (leaving) {
      const node = target();
      if (node !== null) moves.push({ id: leaving[0], node, why: 'drain' });
    }
  }
  return moves;
}
