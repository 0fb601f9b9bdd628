// `streamcoder serve` as the tests meet it: the real CLI (dist/cli/main.js) in a process of its
// own on a free loopback port, driven with real HTTP calls (Node's fetch). Fails loudly when the
// service does not come up; never skips.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChild } from './child';
import { CLI } from './cli';
import { FIXTURE_DIR } from './fixtures';

export interface StreamResource {
  id: string;
  state: 'starting' | 'live' | 'degraded' | 'retrying' | 'failed' | 'stopped' | 'finished';
  input: string;
  inputInfo: { codec: string; width: number; height: number; frameRate: number | null } | null;
  attempt: { n: number; of: number };
  restarts: number;
  lastError: { message: string; at: string; resolvedAt: string | null } | null;
  problems: string[];
  nextRetryAt: string | null;
  pid: number | null;
  outputs: { index: number; url: string; retries: number; state: string; fps: number; bitRate: number; frames: number; dropped: number; lateFrames: number; audioPackets: number; reconnects: number; lead: number; uptime: number; error: string | null }[];
  history: { t: number; fps: number; bitRate: number }[];
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
  text: string;
}

export interface RunningService {
  url: string;
  token: string;
  pid: number;
  dataDir: string;
  child: ChildProcess;
  api<T = any>(method: string, route: string, body?: unknown, token?: string | null): Promise<ApiAnswer<T>>;
  /** Polls GET /v1/streams/:id until `accept` holds; throws with the last resource after `timeoutMs`. */
  waitFor(id: string, accept: (s: StreamResource) => boolean, timeoutMs?: number): Promise<StreamResource>;
  /** SIGTERM, as systemd stops it; resolves with the exit code once it has exited. */
  stop(): Promise<number | null>;
  /** What it printed (stdout and stderr). */
  output(): string;
}

/** Arguments every test service gets: quick retries, a short stall limit, the fixtures as the allowed directory. */
export const TEST_SERVICE_ARGS = ['--backoff', '0.5', '--max-backoff', '2', '--stall', '6', '--allow-dir', FIXTURE_DIR];

/**
 * `tokenFile`: the API token's file (--token-file), shared by the nodes of a cluster; `detached`:
 * the service leads a process group of its own, so that a test can kill it with its streams'
 * processes as a machine's loss would.
 */
export async function startService(options: { dataDir?: string; args?: string[]; tokenFile?: string; detached?: boolean } = {}): Promise<RunningService> {
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-serve-'));
  const tokenArgs = options.tokenFile ? ['--token-file', options.tokenFile] : [];
  const child = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', '--data', dataDir, ...TEST_SERVICE_ARGS, ...tokenArgs, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`streamcoder serve did not start within 20 s: ${output}`));
    }, 20_000);
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`streamcoder serve exited at start (code ${code}): ${output}`));
    });
  });
  const token = fs.readFileSync(options.tokenFile ?? path.join(dataDir, 'api-token'), 'utf8').trim();
  const api = async <T>(method: string, route: string, body?: unknown, useToken: string | null = token): Promise<ApiAnswer<T>> => {
    const headers: Record<string, string> = {};
    if (useToken !== null) headers.authorization = `Bearer ${useToken}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${url}${route}`, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: kept as text
    }
    return { status: response.status, body: parsed as T, text };
  };
  return {
    url,
    token,
    pid: child.pid!,
    dataDir,
    child,
    api,
    async waitFor(id, accept, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: StreamResource | null = null;
      while (Date.now() < deadline) {
        const answer = await api<StreamResource>('GET', `/v1/streams/${id}`);
        if (answer.status === 200) {
          last = answer.body;
          if (accept(last)) return last;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`stream ${id} did not reach the expected state within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    output: () => output,
  };
}

/** The processes whose parent is `pid` (from /proc). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces: the fields after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** Whether `pid` runs: alive and not a zombie (an exited child whose parent has not reaped it, as under a stopped parent). */
export function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * An independent reader: the ffmpeg CLI plays `url` and must decode `frames` pictures within
 * `timeoutMs`. Returns what ffprobe-style facts it printed (size) and its exit status.
 */
export async function readLive(url: string, frames = 10, timeoutMs = 20_000): Promise<{ ok: boolean; frames: number; stderr: string }> {
  const run = await runChild('ffmpeg', ['-hide_banner', '-v', 'info', '-i', url, '-map', '0:v', '-frames:v', String(frames), '-f', 'null', '-'], { timeout: timeoutMs });
  const matches = [...run.stderr.matchAll(/frame=\s*(\d+)/g)];
  const decoded = matches.length ? Number(matches.at(-1)![1]) : 0;
  return { ok: run.status === 0 && decoded >= frames, frames: decoded, stderr: run.stderr };
}
