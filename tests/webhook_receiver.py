"""A real HTTP receiver for webhooks: http.server in a thread on 127.0.0.1, on a free
port. It records every request (path, headers, body) and answers as the test says."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    # When the answer began to be written: before it, the sender cannot have had it.
    done: float | None = None

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (a slow receiver); or until ``Receiver.release``.
    delay: float = 0.0
    hold: bool = False


# How the receiver answers the n-th request (1-based) for a webhook-id.
Behaviour = Callable[[Received, int], Reply]


class Receiver:
    HOLD_MAX = 60.0  # a held request is answered after this at the latest

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.behaviour: Behaviour = lambda request, n: Reply()
        self.released = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
                with receiver._lock:
                    receiver.received.append(request)
                    n = sum(
                        1
                        for r in receiver.received
                        if r.headers.get("webhook-id") == request.headers.get("webhook-id")
                    )
                reply = receiver.behaviour(request, n)
                if reply.hold:
                    receiver.released.wait(Receiver.HOLD_MAX)
                elif reply.delay:
                    time.sleep(reply.delay)
                request.done = time.monotonic()
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:  # the sender gave up (a timeout, a killed worker)
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def requests(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]
