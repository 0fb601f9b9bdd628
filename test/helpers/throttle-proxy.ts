// A TCP proxy on loopback that carries the client-to-server direction through a token bucket, as
// a link of a given capacity would: what the bucket does not let through waits in the client's
// socket (the proxy stops reading), so the sender feels the link as a real one, by its writes
// blocking. The rate can change while connections are open. Server-to-client is not limited.
import net from 'node:net';

export interface ThrottleProxy {
  port: number;
  /** Bits per second let through from now on. */
  setRate(bitsPerSecond: number): void;
  /** Bytes carried client-to-server so far. */
  readonly carried: number;
  close(): Promise<void>;
}

const TICK_MS = 10;
const QUEUE_BYTES = 65_536;

export async function startThrottleProxy(target: number, bitsPerSecond: number): Promise<ThrottleProxy> {
  let rate = bitsPerSecond / 8;  // bytes per second
  let carried = 0;
  const links = new Set<{ tick(): void; destroy(): void }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    // The bucket holds at most 50 ms of the rate: no burst beyond what a link would queue. It
    // fills by the time that passed, so a late timer does not slow the link.
    let tokens = 0;
    let filled = performance.now();
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = () => {
      while (pending.length > 0 && tokens >= 1) {
        const head = pending[0];
        const n = Math.min(head.length, Math.floor(tokens));
        upstream.write(head.subarray(0, n));
        carried += n;
        tokens -= n;
        pendingBytes -= n;
        if (n === head.length) pending.shift();
        else pending[0] = head.subarray(n);
      }
      // Reading goes on while the queue has room (a router's queue of 64 kB), so the link drains
      // the sender's side smoothly rather than a whole read (64 kB) at a time.
      if (pendingBytes < QUEUE_BYTES) client.resume();
    };
    const link = {
      tick() {
        const now = performance.now();
        tokens = Math.min(tokens + (rate * (now - filled)) / 1000, rate * 0.05);
        filled = now;
        flush();
      },
      destroy() {
        client.destroy();
        upstream.destroy();
      },
    };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= QUEUE_BYTES) client.pause();
      flush();
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      links.delete(link);
      link.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  const timer = setInterval(() => {
    for (const link of links) link.tick();
  }, TICK_MS);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    setRate: (bits) => {
      rate = bits / 8;
    },
    get carried() {
      return carried;
    },
    close: async () => {
      clearInterval(timer);
      for (const link of links) link.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
