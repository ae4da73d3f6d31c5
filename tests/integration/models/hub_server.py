"""A local HTTP server that answers the part of the Hugging Face Hub API that ``snapshot_download`` uses.

Serves model repositories made of local folders, one commit each:

- ``GET /api/models/<repo>/revision/<rev>``: the model info (``sha`` is the commit);
- ``GET /api/models/<repo>/tree/<rev>?recursive=...``: the file listing, with each file's size and
  git blob id, and for "LFS" files (``*.safetensors``, ``*.bin``) the SHA-256 of the content;
- ``HEAD``/``GET /<repo>/resolve/<rev>/<path>``: the file, with ``X-Repo-Commit``, ``ETag`` (and
  ``X-Linked-Etag``/``X-Linked-Size`` for LFS files) and ``Range`` support.

Faults for the tests: ``cut_once`` (paths whose first GET is cut after half the bytes),
``missing`` (paths answered 404), ``corrupt`` (paths whose content differs from the listing).
Every request is logged in ``requests`` as ``(method, path, Range header)``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".bin")


@dataclass
class Repo:
    folder: Path
    commit: str
    revisions: tuple[str, ...] = ("main",)

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob("*") if p.is_file())


@dataclass
class FakeHub:
    repos: dict[str, Repo] = field(default_factory=dict)
    cut_once: set[str] = field(default_factory=set)
    missing: set[str] = field(default_factory=set)
    corrupt: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    url: str = ""

    def add(self, repo_id: str, folder: Path, *, commit: str | None = None) -> Repo:
        commit = commit or hashlib.sha1(repo_id.encode(), usedforsecurity=False).hexdigest()
        self.repos[repo_id] = repo = Repo(folder, commit)
        return repo

    def gets(self, path_suffix: str) -> list[str | None]:
        """The Range headers of the GETs of files ending in ``path_suffix``."""
        return [r for m, p, r in self.requests if m == "GET" and "/resolve/" in p and p.endswith(path_suffix)]

    def find(self, repo_and_rest: str, marker: str) -> tuple[Repo, str, str] | None:
        for repo_id, repo in self.repos.items():
            prefix = f"{repo_id}/{marker}/"
            if repo_and_rest.startswith(prefix):
                revision, _, rest = repo_and_rest[len(prefix) :].partition("/")
                if revision in (repo.commit, *repo.revisions):
                    return repo, revision, rest
        return None


def tree_entry(repo: Repo, path: str) -> dict[str, object]:
    data = (repo.folder / path).read_bytes()
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    entry: dict[str, object] = {"type": "file", "path": path, "size": len(data), "oid": blob}
    if path.endswith(LFS_SUFFIXES):
        entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
    return entry


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: FakeHub

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:
        self.answer(body=False)

    def do_GET(self) -> None:
        self.answer(body=True)

    def answer(self, *, body: bool) -> None:
        hub = self.hub
        path = unquote(urlsplit(self.path).path)
        hub.requests.append((self.command, path, self.headers.get("Range")))
        if path.startswith("/api/models/"):
            self.api(path.removeprefix("/api/models/"))
        else:
            self.resolve(path.lstrip("/"), body=body)

    def api(self, rest: str) -> None:
        found = self.hub.find(rest, "revision")
        if found:
            repo, _, _ = found
            info = {"id": rest.split("/revision/")[0], "sha": repo.commit, "siblings": []}
            info["siblings"] = [{"rfilename": f} for f in repo.files()]
            return self.json(info)
        found = self.hub.find(rest, "tree")
        if found:
            repo, _, _ = found
            return self.json([tree_entry(repo, f) for f in repo.files()])
        self.send_error(404, "Repository not found")

    def resolve(self, rest: str, *, body: bool) -> None:
        found = self.hub.find(rest, "resolve")
        if not found or not (found[0].folder / found[2]).is_file() or found[2] in self.hub.missing:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        repo, _, name = found
        entry = tree_entry(repo, name)
        data = (repo.folder / name).read_bytes()
        if name in self.hub.corrupt:
            data = bytes(reversed(data))
        start = 0
        if body and (wanted := self.headers.get("Range")):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
        self.send_response(206 if start else 200)
        self.send_header("X-Repo-Commit", repo.commit)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", f'"{entry["oid"]}"')
        if "lfs" in entry:
            lfs = entry["lfs"]
            assert isinstance(lfs, dict)
            self.send_header("X-Linked-Etag", f'"{lfs["oid"]}"')
            self.send_header("X-Linked-Size", str(lfs["size"]))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if not body:
            return
        if name in self.hub.cut_once and not start:
            self.hub.cut_once.discard(name)
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data[start:])

    def json(self, value: object) -> None:
        data = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def serve_hub(hub: FakeHub) -> Iterator[FakeHub]:
    handler = type("BoundHandler", (Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
