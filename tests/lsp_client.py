"""A small Language Server Protocol client for the tests: JSON-RPC over a server's stdin and
stdout, `Content-Length` framed, as an editor speaks to `policyc lsp`.

A reader thread sorts what the server sends: answers by request id, notifications in order
(`publishDiagnostics` by document), and requests from the server answered with null.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

TIMEOUT = 60.0


class Client:
    def __init__(self, command: list[str] | None = None, cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "policydsl", "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
        )
        self._next_id = 0
        self._answers: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self.notifications: queue.Queue[dict[str, Any]] = queue.Queue()
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}
        self._diagnostics_seen = threading.Condition()
        self.versions: dict[str, int] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # ---- wire ------------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length is not None
            message = json.loads(stream.read(length))
            if "id" in message and "method" in message:  # a request from the server
                self._send({"id": message["id"], "result": None})
            elif "id" in message:
                self._answers.setdefault(message["id"], queue.Queue()).put(message)
            else:
                if message.get("method") == "textDocument/publishDiagnostics":
                    with self._diagnostics_seen:
                        params = message["params"]
                        uri, version = params["uri"], params.get("version")
                        if version is None or version >= self.versions.get(uri, 0):
                            self.diagnostics[uri] = params["diagnostics"]  # not a stale text's
                            self._diagnostics_seen.notify_all()
                self.notifications.put(message)

    def request(self, method: str, params: Any) -> Any:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            self._answers.setdefault(ident, queue.Queue())
        self._send({"id": ident, "method": method, "params": params})
        answer = self._answers[ident].get(timeout=TIMEOUT)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    # ---- the session ---------------------------------------------------------------------------

    def initialize(self, root: Path) -> dict[str, Any]:
        result = self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.resolve().as_uri(),
                "capabilities": {
                    "textDocument": {
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "documentSymbol": {"hierarchicalDocumentSymbolSupport": True},
                        "publishDiagnostics": {"relatedInformation": True},
                    }
                },
            },
        )
        self.notify("initialized", {})
        return result  # type: ignore[no-any-return]

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.resolve().as_uri()
        self.versions[uri] = 1
        self.diagnostics.pop(uri, None)
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": "policy",
                    "version": 1,
                    "text": path.read_text(encoding="utf-8") if text is None else text,
                }
            },
        )
        return uri

    def change(self, uri: str, text: str, range_: dict[str, Any] | None = None) -> None:
        """Replace the document (or `range_` of it) with `text`."""
        self.versions[uri] += 1
        change: dict[str, Any] = {"text": text}
        if range_ is not None:
            change["range"] = range_
        self.diagnostics.pop(uri, None)
        self.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": self.versions[uri]},
                "contentChanges": [change],
            },
        )

    def wait_diagnostics(self, uri: str, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """The next diagnostics published for `uri` (since it was opened or last changed)."""
        deadline = time.monotonic() + timeout
        with self._diagnostics_seen:
            while uri not in self.diagnostics:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no diagnostics for {uri}")
                self._diagnostics_seen.wait(left)
            return self.diagnostics[uri]

    def at(self, uri: str, line: int, character: int) -> dict[str, Any]:
        return {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()
