#!/usr/bin/python3
# A TCP proxy on loopback that carries the client-to-server direction through a token bucket, as a
# link of a given capacity would (test/helpers/throttle-proxy.ts starts it).
#   throttle-proxy.py <target port> <bits per second>
# Prints "port <n>" once it listens; reads "rate <bits per second>" lines on stdin to change the
# rate. The sockets' receive buffers are fixed at 64 kB (a router's queue): the kernel would
# otherwise grow them to megabytes, and a sender would fill them for seconds before its writes
# blocked, which is no link anyone has. Server-to-client is not limited.
import socket
import sys
import threading
import time

QUEUE = 65536
target = int(sys.argv[1])
rate = [float(sys.argv[2]) / 8]  # bytes per second


def forward_limited(client, upstream):
    tokens = 0.0
    last = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            # At most 50 ms of the rate at once: no burst beyond what a link would queue.
            tokens = min(tokens + rate[0] * (now - last), rate[0] * 0.05)
            last = now
            if tokens < 1024:
                time.sleep(0.002)
                continue
            data = client.recv(min(16384, int(tokens)))
            if not data:
                break
            upstream.sendall(data)
            tokens -= len(data)
    except OSError:
        pass
    finally:
        for s in (client, upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def forward(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass


def serve(listener):
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection(('127.0.0.1', target))
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=forward_limited, args=(client, upstream), daemon=True).start()
        threading.Thread(target=forward, args=(upstream, client), daemon=True).start()


listener = socket.socket()
# Set before listen(): accepted sockets inherit it, and the window is scaled to match.
listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, QUEUE)
listener.bind(('127.0.0.1', 0))
listener.listen(16)
threading.Thread(target=serve, args=(listener,), daemon=True).start()
print(f'port {listener.getsockname()[1]}', flush=True)
for line in sys.stdin:
    parts = line.split()
    if len(parts) == 2 and parts[0] == 'rate':
        rate[0] = float(parts[1]) / 8
