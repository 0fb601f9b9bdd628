// Real streaming servers for the tests, started on free loopback ports and stopped after:
// nginx with Debian's libnginx-mod-rtmp (RTMP), and GStreamer's RTSP server (publish and play).
// Each start function fails loudly when its server does not come up; none ever skips.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RunningServer {
  port: number;
  /** The directory the server writes into (recordings, logs). */
  dir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, what: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited at start (code ${child.exitCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within 15 s: ${log()}`);
}

function stopper(child: ChildProcess, dir: string | null): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };
}

export interface RtmpServer extends RunningServer {
  /** rtmp://127.0.0.1:<port>/live/<name>: relayed live to readers. */
  liveUrl(name: string): string;
  /** rtmp://127.0.0.1:<port>/rec/<name>: also recorded to recordingOf(name) (FLV; a publish again to the same name appends). */
  recordUrl(name: string): string;
  recordingOf(name: string): string;
  /**
   * rtmp://127.0.0.1:<port>/ends/<name>: relayed live, and its readers disconnected when the
   * publisher stops (idle_streams off). With nginx-rtmp's default (`live`, `rec`) a reader is
   * told nothing and waits for a publisher to come back.
   */
  endsUrl(name: string): string;
  /** rtmp://127.0.0.1:<port>/auth/<name>: relayed live; publishes admitted by `onPublish` (when given). */
  authUrl(name: string): string;
  /** Kills nginx at once, as a crash would (SIGKILL). */
  kill(): void;
  /** With `stat`: the publishers nginx counts now, per stream name (rtmp_stat over HTTP). */
  publishers(): Promise<Map<string, number>>;
  /** nginx's error log so far. */
  log(): string;
  /** Freezes nginx (SIGSTOP): connections stay open, nothing is read or answered. */
  pause(): void;
  /** Thaws it (SIGCONT). */
  resume(): void;
}

/**
 * nginx + libnginx-mod-rtmp: applications `live` (relay) and `rec` (relay + record), and with
 * `onPublish` (an http:// URL) `auth`, whose publishes nginx admits only when that URL answers 2xx.
 */
export async function startRtmpServer(port?: number, options: { onPublish?: string; stat?: boolean } = {}): Promise<RtmpServer> {
  const listen = port ?? (await freePort());
  const statPort = options.stat ? await freePort() : 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-nginx-'));
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, `
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 128; }
rtmp {
  server {
    listen 127.0.0.1:${listen};
    chunk_size 4096;
    application live { live on; record off; }
    application rec { live on; record all; record_path ${dir}; record_unique off; record_append on; }
    application ends { live on; idle_streams off; }
    ${options.onPublish ? `application auth { live on; on_publish ${options.onPublish}; }` : ''}
  }
}
${options.stat ? `http {
  access_log off;
  server { listen 127.0.0.1:${statPort}; location /stat { rtmp_stat all; } }
}` : ''}
`);
  const child = spawn('nginx', ['-p', dir, '-c', conf, '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
  const log = () => (fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : '');
  await waitForPort(listen, child, 'nginx-rtmp', log);
  return {
    port: listen,
    dir,
    liveUrl: (name) => `rtmp://127.0.0.1:${listen}/live/${name}`,
    recordUrl: (name) => `rtmp://127.0.0.1:${listen}/rec/${name}`,
    recordingOf: (name) => path.join(dir, `${name}.flv`),
    endsUrl: (name) => `rtmp://127.0.0.1:${listen}/ends/${name}`,
    authUrl: (name) => `rtmp://127.0.0.1:${listen}/auth/${name}`,
    kill: () => child.kill('SIGKILL'),
    async publishers() {
      if (!statPort) throw new Error('startRtmpServer: publishers() needs { stat: true }');
      const xml = await (await fetch(`http://127.0.0.1:${statPort}/stat`, { signal: AbortSignal.timeout(2000) })).text();
      const counts = new Map<string, number>();
      for (const [, stream] of xml.matchAll(/<stream>([\s\S]*?)<\/stream>/g)) {
        const name = /<name>([^<]*)<\/name>/.exec(stream)?.[1] ?? '';
        // The clients that publish (the stream's own <publishing/> says only that one does).
        const publishing = [...stream.matchAll(/<client>([\s\S]*?)<\/client>/g)].filter(([, client]) => client.includes('<publishing/>')).length;
        counts.set(name, (counts.get(name) ?? 0) + publishing);
      }
      return counts;
    },
    log,
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop: stopper(child, dir),
  };
}

async function startGstRtsp(mode: 'record' | 'play' | 'play-once' | 'relay', arg: string, port?: number): Promise<{ port: number; child: ChildProcess; log: () => string }> {
  const listen = port ?? (await freePort());
  const child = spawn('/usr/bin/python3', [path.join(__dirname, 'rtsp-server.py'), mode, String(listen), arg], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  await waitForPort(listen, child, `GStreamer RTSP server (${mode})`, () => output);
  return { port: listen, child, log: () => output };
}

export interface RtspRecordServer extends RunningServer {
  /** rtsp://127.0.0.1:<port>/live: publish here (ANNOUNCE/RECORD). */
  url: string;
  /** Where the server writes what it received (Matroska, H.264). */
  recording: string;
}

/** GStreamer's RTSP server in RECORD mode: takes one H.264 publish, over TCP or UDP, into a file. */
export async function startRtspRecordServer(): Promise<RtspRecordServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-rtsp-'));
  const recording = path.join(dir, 'received.mkv');
  const { port, child } = await startGstRtsp('record', recording);
  return { port, dir, url: `rtsp://127.0.0.1:${port}/live`, recording, stop: stopper(child, dir) };
}

export interface RtspPlayServer extends RunningServer {
  /** rtsp://127.0.0.1:<port>/live: a live 320x240 H.264 test picture. */
  url: string;
  kill(): void;
}

/** GStreamer's RTSP server in PLAY mode: a live source for reading tests. */
export async function startRtspPlayServer(options: { fps?: number; port?: number } = {}): Promise<RtspPlayServer> {
  const { port, child } = await startGstRtsp('play', String(options.fps ?? 25), options.port);
  return { port, dir: '', url: `rtsp://127.0.0.1:${port}/live`, kill: () => child.kill('SIGKILL'), stop: stopper(child, null) };
}

/** GStreamer's RTSP server playing a stream with an end: `frames` at 25 fps, then EOS (RTCP BYE). */
export async function startRtspEndingServer(frames: number): Promise<RtspPlayServer> {
  const { port, child } = await startGstRtsp('play-once', String(frames));
  return { port, dir: '', url: `rtsp://127.0.0.1:${port}/live`, kill: () => child.kill('SIGKILL'), stop: stopper(child, null) };
}

/** Waits until `file` exists and has stopped growing (a server finishing its recording). */
export async function settledFile(file: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    const size = fs.existsSync(file) ? fs.statSync(file).size : -1;
    if (size > 0 && size === last) return file;
    last = size;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`${file} did not settle within ${timeoutMs} ms`);
}

export interface RtspRelay extends RunningServer {
  /** rtp://127.0.0.1:<udp>: push H.264 in RTP here (a Server with this URL and format 'rtp'). */
  feedUrl: string;
  /** rtsp://127.0.0.1:<port>/live: what arrives there, served live to RTSP readers. */
  url: string;
}

/** GStreamer's RTSP server as a relay: H.264 in RTP arriving on a UDP port is served at /live. */
export async function startRtspRelay(): Promise<RtspRelay> {
  const udp = await freePort();
  const { port, child } = await startGstRtsp('relay', String(udp));
  return { port, dir: '', feedUrl: `rtp://127.0.0.1:${udp}`, url: `rtsp://127.0.0.1:${port}/live`, stop: stopper(child, null) };
}

export interface RtspListener extends RunningServer {
  /** rtsp://127.0.0.1:<port>/live: publish one stream here (picture and sound). */
  url: string;
  recording: string;
  /** Resolves once the publisher has torn down and the recording is written. */
  finished(): Promise<void>;
  /** Ends the server as `systemctl stop` would (SIGTERM): the publisher's connection goes, the recording is finished. */
  terminate(): void;
}

/**
 * The ffmpeg CLI as an RTSP server for one publish (`-rtsp_flags listen`), copying what it
 * receives into a file: FFmpeg's own RTSP reader, which places each stream by the RTCP sender
 * reports, so A/V sync can be judged in the recording. (GStreamer's record server aligns the
 * streams by arrival until its reports settle: the ffmpeg CLI's own publish measured 205, -472 and
 * -41 ms there, 0 here.)
 */
export async function startRtspListener(listenPort?: number): Promise<RtspListener> {
  const port = listenPort ?? (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamcoder-rtsp-listen-'));
  const recording = path.join(dir, 'received.mkv');
  const child = spawn('ffmpeg', ['-v', 'error', '-rtsp_flags', 'listen', '-timeout', '30', '-i', `rtsp://127.0.0.1:${port}/live`, '-c', 'copy', '-y', recording], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk) => (log += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Not a probing connect: the listener takes the first connection as its publisher. And not the
  // listening socket alone: ffmpeg closes it once it accepts, so a publisher already retrying on
  // the port (a reconnect test) can be taken between two polls; an accepted connection counts too.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`ffmpeg -rtsp_flags listen exited at start: ${log}`);
    if (String(execFileSync('ss', ['-Htn', 'state', 'listening', 'state', 'established', `sport = :${port}`])).trim()) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ffmpeg -rtsp_flags listen did not listen on ${port} within 15 s: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { port, dir, url: `rtsp://127.0.0.1:${port}/live`, recording, finished: () => exited, terminate: () => child.kill('SIGTERM'), stop: stopper(child, dir) };
}
