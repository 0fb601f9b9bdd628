// `npm run demo` itself, on its embedded default: the whole product end to end (sample clip,
// nginx-rtmp, the two-worker pipeline paced to real time, Client reading back). It must report
// zero lost frames and leave no server running.
import net from 'node:net';
import path from 'node:path';
import { expect, test } from 'vitest';
import { runChild } from './helpers/child';

test('npm run demo reports every frame received, none lost, and stops its server', async () => {
  const root = path.join(__dirname, '..');
  const result = await runChild('npm', ['run', 'demo', '--silent'], { cwd: root, timeout: 120_000 });
  expect(result.status, result.stderr).toBe(0);
  const report = result.stdout;
  expect(report).toMatch(/^lost\s+0$/m);
  const sent = Number(/^frames sent\s+(\d+)/m.exec(report)![1]);
  const received = /^frames received\s+(\d+) \(the reader joined at frame (\d+); from there (\d+) were sent\)/m.exec(report)!;
  expect(sent).toBe(300);
  expect(Number(received[1])).toBe(Number(received[3]));
  expect(Number(received[1])).toBeGreaterThan(150);
  expect(report).toMatch(/^latency\s+p50 \d+ ms/m);
  // The demo's own server is gone: nothing listens where it listened.
  const port = Number(/rtmp:\/\/127\.0\.0\.1:(\d+)\//.exec(report)![1]);
  const listening = await new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
  expect(listening).toBe(false);
}, 150_000);
