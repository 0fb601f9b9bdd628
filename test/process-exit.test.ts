// process.exit() does not wait for the libuv pool or the addon's own threads: exit() runs the
// C++ static destructors while they may still be encoding, reconnecting and logging. A static of
// the addon with a destructor (the log sinks, the registry of secrets to mask) was then freed
// under a running thread; CI once saw `munmap_chunk(): invalid pointer` and SIGABRT from a
// process that only called process.exit() in an 'uncaughtException' handler. So the addon
// registers no exit-time destructor at all: a preloaded library reports every one registered
// while a child runs the native paths that keep state (logging, masking secrets, decoding,
// encoding, a Server reconnecting) and exits in the middle of a reconnect.
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { runChild } from './helpers/child';
import { fixture, tempDir } from './helpers/fixtures';
import { preloadEnvironment } from './helpers/preload';
import { startRtmpServer, type RunningServer } from './helpers/servers';

const servers: RunningServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
});

test('the addon registers no destructor to run at exit(), so process.exit() mid-reconnect cannot free what a thread uses', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startRtmpServer();
  servers.push(server);
  try {
    const env = await preloadEnvironment('exit-destructors', dir);
    const script = `
      const sc = require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'index.js'))});
      sc.onLog(() => {});
      sc.setLogLevel('info');
      (async () => {
        const decoder = sc.Decoder.openSync(${JSON.stringify(fixture('odd-853x479.mp4'))});
        for (let i = 0; i < 5; i++) await decoder.read();
        decoder.close();
        const encoder = await sc.Encoder.open(${JSON.stringify(path.join(dir, 'out.mp4'))}, { width: 64, height: 64, pixelFormat: 'gray' });
        for (let i = 0; i < 5; i++) await encoder.encode(new Uint8Array(64 * 64));
        await encoder.close();
        const srv = await sc.Server.open(${JSON.stringify(server.liveUrl('secret-key?token=hush'))}, { width: 64, height: 64, pixelFormat: 'gray', tune: 'zerolatency', reconnect: { retries: 100, backoffMs: 20 } });
        srv.on('disconnect', () => setTimeout(() => { console.log('exiting mid-reconnect'); process.exit(0); }, 300));
        const frame = new Uint8Array(64 * 64);
        console.log('serving');
        for (;;) await srv.serveBlock(frame);
      })().catch((e) => { console.log('failed: ' + e.stack); process.exit(3); });`;
    const child = runChild(process.execPath, ['-e', script], { env, timeout: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    server.kill();
    const run = await child;
    const report = run.stderr.split('\n').filter((line) => line.startsWith('exit-time destructor of '));
    expect(run.stdout, run.stderr.slice(-3000)).toContain('exiting mid-reconnect');
    expect({ status: run.status, signal: run.signal }, run.stderr.slice(-3000)).toEqual({ status: 0, signal: null });
    // The preload works: node and the libraries it loads register some of their own.
    expect(report.length).toBeGreaterThan(0);
    expect(report.filter((line) => /streamcoder[^/]*\.node:/.test(line))).toEqual([]);
  } finally {
    cleanup();
  }
}, 60_000);
