// A TCP proxy on loopback that carries the client-to-server direction through a token bucket, as
// a link of a given capacity would (test/helpers/throttle-proxy.py, in a process of its own so
// that the test's own work cannot slow the link). What the bucket does not let through waits in
// a 64 kB receive buffer, then in the sender's socket: the sender feels the link as a real one,
// by its writes blocking. The rate can change while connections are open.
import { spawn } from 'node:child_process';
import path from 'node:path';

export interface ThrottleProxy {
  port: number;
  /** Bits per second let through from now on. */
  setRate(bitsPerSecond: number): void;
  close(): Promise<void>;
}

export async function startThrottleProxy(target: number, bitsPerSecond: number): Promise<ThrottleProxy> {
  const child = spawn('/usr/bin/python3', [path.join(__dirname, 'throttle-proxy.py'), String(target), String(bitsPerSecond)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`throttle-proxy.py did not start: ${output}`)), 10_000);
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const match = /port (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`throttle-proxy.py exited (${code}): ${output}`)));
  });
  return {
    port,
    setRate: (bits) => {
      child.stdin!.write(`rate ${bits}\n`);
    },
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
