#!/usr/bin/env python3
"""Holds N idle client connections to HOST:PORT for the bench's idle probe.

Opens N connections (at most 500 connecting at once), sends one HTTP/1.1
keep-alive request on each, reads its whole response ("ok\\n"), then leaves
every connection open and idle. Prints "ready N" once all have their answer
(or "failed ..." and exits 1), then holds them for HOLD_SECONDS (the bench
stops it sooner). The same for a TCP proxy: the request goes through to the
backend, so each connection also holds the proxy's connection to its server.

usage: idle_hold.py HOST PORT N HOLD_SECONDS
"""
import selectors
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
ANSWER_END = b"\r\n\r\nok\n"


def main() -> int:
    host, port, count, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    sel = selectors.DefaultSelector()
    held = []
    pending = {}  # socket -> bytes received so far
    opened = 0
    deadline = time.monotonic() + 120
    while len(held) < count:
        if time.monotonic() > deadline:
            print(f"failed: {len(held)} of {count} answered within 120 s", flush=True)
            return 1
        while opened < count and len(pending) < 500:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(True)
            s.settimeout(5)
            try:
                s.connect((host, port))
                s.sendall(REQUEST)
            except OSError as e:
                print(f"failed: connection {opened + 1}: {e}", flush=True)
                return 1
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            pending[s] = b""
            opened += 1
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            if not data:
                print(f"failed: closed by the proxy after {len(held)} answers", flush=True)
                return 1
            pending[s] += data
            if pending[s].endswith(ANSWER_END):
                sel.unregister(s)
                del pending[s]
                held.append(s)
    print(f"ready {len(held)}", flush=True)
    time.sleep(hold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
