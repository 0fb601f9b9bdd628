// streamcoder serve: the push service. Streams are created, watched and stopped over HTTP (see
// lib/service/app.ts); each runs in a process of its own, supervised; what the operator asked
// for is kept in --data and resumed at the next start. Stops cleanly on Ctrl-C or SIGTERM: every
// stream's process is stopped (outputs closed), the streams file kept as it was.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandSpec } from './args';
import { UsageError } from './args';
import { COMMON_OPTIONS, type CommandContext } from './common';
import { buildApp } from '../service/app';
import type { ClusterService } from '../service/cluster/cluster-service';
import { loadApiToken } from '../service/auth';
import { PublishTokens } from '../service/publish-tokens';
import { StreamService } from '../service/service';
import { DEFAULT_INPUT_SCHEMES, DEFAULT_MAX_INPUT_PIXELS, DEFAULT_MAX_OUTPUT_PIXELS, DEFAULT_MAX_PIXEL_RATE, PROTOCOL_WHITELIST } from '../service/spec';
import { MAX_PIXELS } from '../validate';
import { SUPERVISION_DEFAULTS } from '../service/supervisor';
import { ThreadBudget, type StreamThreads } from '../service/thread-budget';

const D = SUPERVISION_DEFAULTS;

export const serveSpec: CommandSpec = {
  name: 'serve',
  summary: 'Run the push service: an HTTP API (and status page at /) that starts, supervises and stops pushes',
  usage: 'streamcoder serve [--listen 127.0.0.1:8080] [--data DIR] [--token-file FILE] [--allow-dir DIR] [--etcd URL[,URL...] --node-name NAME [--advertise URL]]',
  positionals: [],
  options: {
    listen: { type: 'string', description: 'address:port to listen on (loopback unless told otherwise; port 0: any free one)', default: '127.0.0.1:8080' },
    data: { type: 'string', description: 'directory of the streams file, the API token and the publish-token secret', default: 'streamcoder-data' },
    'token-file': { type: 'string', description: 'file whose first line is the API bearer token (default: DATA/api-token, made on first start)' },
    'allow-dir': { type: 'string', description: 'directory file inputs must lie in (default: DATA/media)' },
    'allow-schemes': { type: 'string', description: 'comma-separated URL schemes inputs may use', default: DEFAULT_INPUT_SCHEMES.join(',') },
    'rtmp-url': { type: 'string', description: 'rtmp://host:port of the nginx-rtmp server publish URLs point at', default: 'rtmp://127.0.0.1:1935' },
    'max-streams': { type: 'integer', description: 'streams held at most (with --etcd: streams this node runs at most)', default: 64, min: 1, max: 10000 },
    etcd: { type: 'string', description: 'comma-separated etcd endpoints (http://host:2379,...): run as a node of a cluster whose state is kept there' },
    'node-name': { type: 'string', description: "with --etcd: this node's name, unique in the cluster (default: the host name)" },
    advertise: { type: 'string', description: "with --etcd: this node's API as its peers reach it (default: http:// and the address it listens on)" },
    'lease-ttl': { type: 'integer', description: "with --etcd: seconds of the node's lease: a node that dies is replaced after about this long", default: 4, min: 2, max: 60 },
    'drain-timeout': { type: 'number', description: 'with --etcd: seconds SIGTERM waits for the streams to move to other nodes', default: 60, min: 0, max: 3600 },
    'max-output-pixels': { type: 'integer', description: "the most pixels an output's size may ask", default: DEFAULT_MAX_OUTPUT_PIXELS, min: 1, max: MAX_PIXELS },
    'max-pixel-rate': { type: 'integer', description: "the most pixels a second a stream's outputs may encode together (sizes x the input's frame rate)", default: DEFAULT_MAX_PIXEL_RATE, min: 1, max: Number.MAX_SAFE_INTEGER },
    'max-input-pixels': { type: 'integer', description: 'the largest input picture a stream may decode, in pixels', default: DEFAULT_MAX_INPUT_PIXELS, min: 1, max: MAX_PIXELS },
    'max-attempts': { type: 'integer', description: 'failures in a row before a stream is failed', default: D.maxAttempts, min: 1, max: 1_000_000 },
    backoff: { type: 'number', description: 'seconds before the first retry (doubled each next one)', default: D.backoffMs / 1000, min: 0.01, max: 3600 },
    'max-backoff': { type: 'number', description: 'longest wait between retries, seconds', default: D.maxBackoffMs / 1000, min: 0.01, max: 86400 },
    stall: { type: 'number', description: 'seconds without a new frame after which a stream is restarted', default: D.stallSeconds, min: 1, max: 3600 },
    healthy: { type: 'number', description: 'seconds live after which the failure count starts again', default: D.healthySeconds, min: 1, max: 86400 },
    'stream-threads': { type: 'string', description: "codec threads per stream: 'auto' (the cores shared among the streams running), or a count (0: FFmpeg chooses, as the ffmpeg CLI does)", default: 'auto' },
    ...COMMON_OPTIONS,
  },
};

/** What to warn of when the API listens beyond this machine: its token travels in clear text. */
export function listenWarning(host: string): string | null {
  if (['127.0.0.1', '::1', 'localhost'].includes(host.toLowerCase()) || /^127\./.test(host)) return null;
  return `listening on ${host}, not loopback: the API (its bearer token in clear text) and the status page are open to the network; put a TLS proxy in front of it`;
}

function parseStreamThreads(text: string): StreamThreads {
  if (text === 'auto') return 'auto';
  if (!/^\d{1,2}$/.test(text) || Number(text) > 64) throw new UsageError(`--stream-threads expects 'auto' or a count from 0 to 64, got '${text}'`);
  return Number(text);
}

function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text);
  if (!match || Number(match[3]) > 65535) throw new UsageError(`--listen expects host:port such as 127.0.0.1:8080 or [::1]:8080, got '${text}'`);
  return { host: match[1] ?? match[2], port: Number(match[3]) };
}

export async function serve({ options, signal, out }: CommandContext): Promise<void> {
  const { host, port } = parseListen(options.listen as string);
  const dataDir = path.resolve(options.data as string);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const allowDir = path.resolve((options['allow-dir'] as string | undefined) ?? path.join(dataDir, 'media'));
  fs.mkdirSync(allowDir, { recursive: true });
  const schemes = (options['allow-schemes'] as string).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  const { token, file: tokenFile, warning } = loadApiToken(options['token-file'] as string | undefined, dataDir);
  if (warning) process.stderr.write(`streamcoder serve: warning: ${warning}\n`);
  const unknown = schemes.filter((scheme) => !PROTOCOL_WHITELIST[scheme]);
  if (unknown.length) throw new UsageError(`--allow-schemes: ${unknown.join(', ')} cannot be an input here (the service takes ${Object.keys(PROTOCOL_WHITELIST).join(', ')})`);
  const exposed = listenWarning(host);
  if (exposed) process.stderr.write(`streamcoder serve: warning: ${exposed}\n`);
  const supervision = {
    ...D,
    maxAttempts: options['max-attempts'] as number,
    backoffMs: Math.round((options.backoff as number) * 1000),
    maxBackoffMs: Math.round(Math.max(options['max-backoff'] as number, options.backoff as number) * 1000),
    stallSeconds: options.stall as number,
    healthySeconds: options.healthy as number,
    threads: new ThreadBudget(parseStreamThreads(options['stream-threads'] as string)),
  };
  const inputPolicy = {
    schemes,
    directories: [fs.realpathSync(allowDir)],
    maxOutputPixels: options['max-output-pixels'] as number,
    maxPixelRate: options['max-pixel-rate'] as number,
    maxInputPixels: options['max-input-pixels'] as number,
  };
  if (options.etcd !== undefined && options.advertise === undefined && ['0.0.0.0', '::'].includes(host)) {
    throw new UsageError(`--advertise is needed with --listen ${host}: the other nodes must know an address of this one they can reach`);
  }
  for (const name of ['node-name', 'advertise']) {
    if (options.etcd === undefined && options[name] !== undefined) throw new UsageError(`--${name} applies to a node of a cluster: give --etcd too`);
  }
  const onEvent = options.quiet ? undefined : (line: string) => out.write(`${new Date().toISOString()} ${line}\n`);
  // The etcd client (gRPC) is loaded only for a cluster: 140 ms that every other command and a
  // single-machine service do without.
  const Cluster = options.etcd === undefined ? undefined : (await import('../service/cluster/cluster-service')).ClusterService;
  const cluster: ClusterService | undefined = Cluster === undefined ? undefined : new Cluster({
    hosts: etcdHosts(options.etcd as string),
    nodeName: nodeName(options['node-name'] as string | undefined),
    maxStreams: options['max-streams'] as number,
    advertise: (options.advertise as string | undefined) ?? null,
    leaseTtlSeconds: options['lease-ttl'] as number,
    drainTimeoutMs: (options['drain-timeout'] as number) * 1000,
    supervision,
    inputPolicy,
    token,
    onEvent,
  });
  const single = cluster ? undefined : new StreamService({ dataDir, supervision, maxStreams: options['max-streams'] as number, inputPolicy, onEvent });
  const service = cluster ?? single!;
  // The streams file (or the cluster) first: state that cannot be taken whole stops the service
  // before it serves.
  let publishTokens: PublishTokens;
  if (cluster) {
    try {
      await cluster.join();
      publishTokens = new PublishTokens(await cluster.publishSecret());
    } catch (error) {
      await cluster.close();
      throw new Error(`cannot join the cluster at ${options.etcd}: ${(error as Error).message}`);
    }
  } else {
    single!.resume();
    publishTokens = PublishTokens.inDir(dataDir);
  }
  const app = buildApp({
    service,
    cluster,
    token,
    inputPolicy,
    publishTokens,
    rtmpUrl: options['rtmp-url'] as string,
  });
  try {
    await app.listen({ host, port });
  } catch (error) {
    await service.close();
    throw error;
  }
  const address = app.server.address();
  const where = typeof address === 'object' && address ? `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
  if (cluster && options.advertise === undefined) await cluster.advertise(`http://${where}`);
  if (!options.quiet) {
    const held = cluster ? `node ${cluster.name} of the cluster at ${options.etcd} (${cluster.size} stream(s) in it)` : `${service.size} stream(s) resumed`;
    out.write(`streamcoder serve: listening on http://${where} (token in ${tokenFile}; file inputs from ${allowDir}; ${held})\n`);
    // The token stays out of the log: the page asks for it (or takes it from /#token=...).
    out.write(`streamcoder serve: status page at http://${where}/ (it asks for the token)\n`);
  }
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  // A node hands its streams over while its API still answers, then leaves.
  await cluster?.drain();
  await app.close();
  await service.close();
}

function etcdHosts(text: string): string[] {
  const hosts = text.split(',').map((h) => h.trim()).filter(Boolean);
  const bad = hosts.filter((h) => !/^https?:\/\/[^\s/]+\/?$/.test(h));
  if (hosts.length === 0 || bad.length) throw new UsageError(`--etcd expects http://host:port endpoints separated by commas, got '${text}'`);
  return hosts;
}

function nodeName(given: string | undefined): string {
  const name = given ?? os.hostname();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new UsageError(`--node-name must be 1 to 64 letters, digits, '_', '.' or '-', got '${name}'`);
  return name;
}
