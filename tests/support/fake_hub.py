"""A local stand-in for the Hugging Face Hub's HTTP API (HF_ENDPOINT points at it): the Hub itself cannot be
reached from the test machine. It answers the calls huggingface_hub makes to list and fetch a model repo —
`GET /api/models/{repo}/revision/{rev}`, `GET /api/models/{repo}/tree/{commit}`, `HEAD` and `GET`
`/{repo}/resolve/{rev}/{file}` (with `Range` for resumed downloads) — with the headers the Hub sends
(X-Repo-Commit, ETag, X-Linked-Size). It can drop a download's connection midway once, and it logs every
request (method, path, Range, Authorization) so tests can check what the client sent.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


@dataclass
class HubRepo:
    commit: str
    files: dict[str, Path]
    refs: tuple[str, ...] = ("main",)
    gated_token: str | None = None  # when set, every call without `Bearer <token>` gets 401
    drop_after: dict[str, int] = field(default_factory=dict)  # file -> bytes sent before the connection drops, once


@dataclass
class FakeHub:
    repos: dict[str, HubRepo]
    log: list[dict] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _send(self, status: int, headers: dict, data: bytes = b"", body: bool = True) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, str(value))
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body and data:
                    self.wfile.write(data)

            def _json(self, value, body: bool) -> None:
                self._send(200, {"Content-Type": "application/json"}, json.dumps(value).encode(), body)

            def _serve(self, body: bool) -> None:
                path = unquote(urlparse(self.path).path)
                hub.log.append({"method": self.command, "path": path, "range": self.headers.get("Range"),
                                "authorization": self.headers.get("Authorization")})
                for name, repo in hub.repos.items():  # noqa: B007 - the matched repo is used after the break
                    api = f"/api/models/{name}/"
                    if path.startswith((api, f"/{name}/resolve/")):
                        break
                else:
                    return self._send(404, {"X-Error-Code": "RepoNotFound"}, b'{"error":"Repository not found"}', body)
                if repo.gated_token and self.headers.get("Authorization") != f"Bearer {repo.gated_token}":
                    return self._send(401, {"X-Error-Code": "GatedRepo", "X-Error-Message": "gated"}, b"{}", body)
                rest = path[len(api):] if path.startswith(api) else path[len(f"/{name}/resolve/"):]
                revision, _, file_name = rest.partition("/")
                if path.startswith(api):
                    kind, _, revision = rest.partition("/")
                    revision = revision.split("/", 1)[0]
                if revision not in (repo.commit, *repo.refs):
                    return self._send(404, {"X-Error-Code": "RevisionNotFound"}, b'{"error":"Invalid rev id"}', body)
                if path.startswith(api) and kind == "revision":
                    return self._json({"id": name, "modelId": name, "sha": repo.commit, "private": False,
                                       "siblings": [{"rfilename": f} for f in repo.files]}, body)
                if path.startswith(api) and kind == "tree":
                    return self._json([_tree_entry(f, p) for f, p in repo.files.items()], body)
                if file_name not in repo.files:
                    return self._send(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": repo.commit},
                                      b"{}", body)
                data = repo.files[file_name].read_bytes()
                headers = {"X-Repo-Commit": repo.commit, "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
                           "X-Linked-Size": len(data), "Accept-Ranges": "bytes"}
                start = 0
                if self.headers.get("Range", "").startswith("bytes="):
                    start = int(self.headers["Range"][len("bytes="):].split("-")[0])
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                headers["Content-Length"] = len(data) - start
                cut = repo.drop_after.pop(file_name, None) if body else None
                if cut is None:
                    return self._send(206 if start else 200, headers, data[start:], body)
                self._send(206 if start else 200, headers, data[start:start + cut], body)
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # a dropped connection, mid-file
                self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _tree_entry(name: str, path: Path) -> dict:
    data = path.read_bytes()
    entry = {"type": "file", "path": name, "size": len(data),
             "oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()}
    if len(data) >= 10 * 1024 * 1024:
        entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
    return entry
