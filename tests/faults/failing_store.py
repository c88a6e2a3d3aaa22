"""A proxy in front of the local S3 server that makes the store fail Delta commits on demand.

`FailingStore(upstream, port)` serves on 127.0.0.1:port, in threads of the test process, and
forwards every request to the S3 server at `upstream` unchanged. It counts the PUTs of Delta
commit files (`<table>/_delta_log/<20 digits>.json`) under a key prefix; `fail_from(prefix,
index, mode)` makes the commit PUT number `index` (0-based) under it, and every later one, fail
until `recover()`:

- "refused": answered 503 Slow Down without reaching the store, so the commit is not written;
- "reply lost": forwarded, so the store writes the commit, and then the connection is closed
  without a reply, so the writer cannot know that it committed.

Everything else (reads, listings, data files) passes, as when a store fails some requests under
load. A test points one bucket's S3A endpoint at the proxy (`fs.s3a.bucket.<b>.endpoint`) and
uses it as a context manager (tests/faults/test_store_faults.py).
"""

from __future__ import annotations

import http.client
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

COMMIT_KEY = re.compile(r"/_delta_log/\d{20}\.json$")
# Headers about one connection, not the request: the proxy's own connections set them.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
              "expect"}
SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")
MODES = ("refused", "reply lost")


class FailingStore:
    def __init__(self, upstream: str, port: int):
        self.upstream = urlsplit(upstream)
        self.endpoint = f"http://127.0.0.1:{port}"
        self.lock = threading.Lock()
        self.prefix, self.fail_at, self.mode = "", None, None
        self.commit_puts: list[str] = []  # keys of the commit PUTs under the prefix, in order
        self.failed: list[str] = []  # those of them that failed
        store = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, and the 100 Continue S3 clients wait for

            def do(self):
                store.forward(self)
            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True

    def __enter__(self) -> "FailingStore":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_from(self, prefix: str, index: int, mode: str) -> None:
        assert mode in MODES, mode
        with self.lock:
            self.prefix, self.fail_at, self.mode = prefix, index, mode
            self.commit_puts, self.failed = [], []

    def recover(self) -> None:
        with self.lock:
            self.fail_at = None

    def failure_for(self, method: str, key: str) -> str | None:
        """The way this request fails, or None; counts the commit PUTs under the prefix."""
        if method != "PUT" or not COMMIT_KEY.search(key) or not key.startswith(self.prefix):
            return None
        with self.lock:
            self.commit_puts.append(key)
            if self.fail_at is None or len(self.commit_puts) <= self.fail_at:
                return None
            self.failed.append(key)
            return self.mode

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        assert "chunked" not in handler.headers.get("Transfer-Encoding", ""), "a chunked request body"
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        failure = self.failure_for(handler.command, urlsplit(handler.path).path)
        if failure == "refused":
            handler.send_response(503, "Slow Down")
            handler.send_header("Content-Type", "application/xml")
            handler.send_header("Content-Length", str(len(SLOW_DOWN)))
            handler.end_headers()
            handler.wfile.write(SLOW_DOWN)
            return
        upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=120)
        try:
            upstream.request(handler.command, handler.path, body=body,
                             headers={k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP})
            response = upstream.getresponse()
            data = response.read()
        finally:
            upstream.close()
        if failure == "reply lost":
            handler.close_connection = True
            return
        handler.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and (name.lower() != "content-length" or handler.command == "HEAD"):
                handler.send_header(name, value)
        if handler.command != "HEAD":
            handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
