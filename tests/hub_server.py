"""A local stand-in for the parts of the Hugging Face Hub API that `push_to_hub` and `hf_hub_download` use.

It speaks just enough of the protocol of huggingface_hub 2.x (read from its `hf_api.py`, `_commit_api.py` and
`file_download.py`) to push a model folder and download files back, and records what arrived so tests can check it:

    POST /api/repos/create                          create_repo            -> {"url": ...}; 409 if it exists
                                                    (a Space must name its SDK, as on the Hub; type and SDK are kept)
    POST /api/validate-yaml                         README.md front matter -> {"errors": [], "warnings": []}
    POST /api/{type}s/{ns}/{name}/preupload/{rev}   upload modes           -> every file "regular" (no LFS, no Xet)
    POST /api/{type}s/{ns}/{name}/commit/{rev}      NDJSON commit          -> base64 "file" entries are stored
    HEAD/GET /{ns}/{name}/resolve/{rev}/{path}      file download          -> X-Repo-Commit, ETag, Content-Length
    GET /api/agent-harnesses                        user-agent detection   -> an empty registry (best-effort call)

Answering preupload with "regular" for every file makes the client inline even `model.safetensors` as base64 in
the commit, so no LFS batch or Xet CAS server has to be imitated. Anything else gets a 404 and is recorded in
`unhandled`, so a test fails loudly when a new huggingface_hub release starts calling something new.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

REPO = r"(?P<repo>[\w.\-]+/[\w.\-]+)"
RESOLVE = re.compile(rf"^/{REPO}/resolve/(?P<revision>[^/]+)/(?P<path>.+)$")
PREUPLOAD = re.compile(rf"^/api/(?P<type>models|datasets|spaces)/{REPO}/preupload/(?P<revision>[^/]+)$")
COMMIT = re.compile(rf"^/api/(?P<type>models|datasets|spaces)/{REPO}/commit/(?P<revision>[^/]+)$")


@dataclass
class Repo:
    """One stored repository: the files of its latest commit and the history of commit ids and messages."""

    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)
    type: str = "model"  # "model", "dataset" or "space"
    sdk: str | None = None  # a Space's SDK ("static", "gradio", ...)
    visibility: str | None = None  # "private"/"public" as create_repo asked; None: the Hub's default (public)

    @property
    def private(self) -> bool:
        return self.visibility == "private"

    @property
    def head(self) -> str:
        return self.commits[-1]["oid"] if self.commits else "0" * 40


class HubStandIn:
    """A threaded HTTP server on 127.0.0.1 at a random free port; use as a context manager.

    Attributes tests inspect: `repos` (repo id -> Repo), `requests` (method, path) in arrival order, `tokens`
    (Authorization headers seen), `validated_cards` (README.md texts sent to validate-yaml), `unhandled`.
    """

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.tokens: set[str] = set()
        self.validated_cards: list[str] = []
        self.unhandled: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="hub-stand-in", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> HubStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # ---- the API, one method per endpoint; each returns (status, headers, body) ------------------------------------

    def create_repo(self, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        name, organization = payload.get("name"), payload.get("organization")
        if not name or not organization:  # the client always sends both for an explicit "user/name" id
            return _json(400, {"error": f"create_repo needs name and organization, got {payload}"})
        repo_id, repo_type, sdk = f"{organization}/{name}", payload.get("type", "model"), payload.get("sdk")
        if repo_type == "space" and sdk not in ("gradio", "docker", "static"):
            return _json(400, {"error": f"a Space needs sdk 'gradio', 'docker' or 'static', got {sdk!r}"})
        url = f"{self.url}/spaces/{repo_id}" if repo_type == "space" else f"{self.url}/{repo_id}"
        with self._lock:
            if repo_id in self.repos:
                return _json(409, {"error": f"You already created this {repo_type} repo", "url": url})
            # huggingface_hub 2.x sends `visibility`; older clients sent `private: true`.
            visibility = payload.get("visibility") or ("private" if payload.get("private") else None)
            self.repos[repo_id] = Repo(type=repo_type, sdk=sdk, visibility=visibility)
        return _json(200, {"url": url, "name": repo_id})

    def validate_yaml(self, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        content = payload.get("content", "")
        self.validated_cards.append(content)
        match = re.match(r"^---\n(.*?)\n---\n", content, re.DOTALL)
        if match is None:
            return _json(200, {"errors": [], "warnings": [{"message": "empty or missing yaml metadata"}]})
        try:
            metadata = yaml.safe_load(match.group(1))
        except yaml.YAMLError as err:
            return _json(400, {"errors": [{"message": f"invalid YAML: {err}"}], "warnings": []})
        if not isinstance(metadata, dict):
            return _json(400, {"errors": [{"message": "metadata must be a mapping"}], "warnings": []})
        return _json(200, {"errors": [], "warnings": []})

    def preupload(self, repo_id: str, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if repo_id not in self.repos:
            return _not_found("RepoNotFound", f"Repository {repo_id} not found")
        files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in payload["files"]]
        return _json(200, {"files": files, "commitOid": self.repos[repo_id].head})

    def commit(self, repo_id: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if repo_id not in self.repos:
            return _not_found("RepoNotFound", f"Repository {repo_id} not found")
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            return _json(400, {"error": "commit body must start with a header line"})
        added: dict[str, bytes] = {}
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            if key == "file" and value.get("encoding") == "base64":
                added[value["path"]] = base64.b64decode(value["content"])
            else:  # lfsFile, deletions, copies: never requested by this stand-in's preupload answer
                return _json(400, {"error": f"stand-in does not support commit operation {key!r}: {value}"})
        repo = self.repos[repo_id]
        digest = hashlib.sha1(repo.head.encode() + body).hexdigest()
        with self._lock:
            repo.files.update(added)
            repo.commits.append({"oid": digest, "summary": lines[0]["value"].get("summary"), "paths": sorted(added)})
        return _json(200, {"commitUrl": f"{self.url}/{repo_id}/commit/{digest}", "commitOid": digest, "success": True})

    def resolve(self, repo_id: str, revision: str, path: str) -> tuple[int, dict[str, str], bytes]:
        repo = self.repos.get(repo_id)
        if repo is None:
            return _not_found("RepoNotFound", f"Repository {repo_id} not found")
        if revision not in ("main", repo.head):
            return _not_found("RevisionNotFound", f"Invalid rev id: {revision}")
        if path not in repo.files:
            return _not_found("EntryNotFound", f"{path} does not exist on {revision}")
        content = repo.files[path]
        headers = {
            "X-Repo-Commit": repo.head,
            "ETag": f'"{hashlib.sha1(content).hexdigest()}"',
            "Content-Type": "application/octet-stream",
        }
        return 200, headers, content


def _json(status: int, data: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def _not_found(code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = _json(404, {"error": message})
    return status, {**headers, "X-Error-Code": code, "X-Error-Message": message}, body


def _make_handler(hub: HubStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """Routes requests to `hub`; HTTP/1.1 with exact Content-Length so the client can keep connections alive."""

        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean; `hub.requests` records every request instead

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, response: tuple[int, dict[str, str], bytes], head_only: bool = False) -> None:
            status, headers, body = response
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            # A HEAD answer carries the Content-Length of the body a GET would return: the client reads the size there.
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head_only:
                self.wfile.write(body)

        def _route(self, method: str) -> None:
            path = unquote(urlsplit(self.path).path)
            hub.requests.append((method, path))
            if auth := self.headers.get("Authorization"):
                hub.tokens.add(auth)
            body = self._body() if method == "POST" else b""
            if method == "POST" and path == "/api/repos/create":
                return self._send(hub.create_repo(json.loads(body)))
            if method == "POST" and path == "/api/validate-yaml":
                return self._send(hub.validate_yaml(json.loads(body)))
            if method == "POST" and (m := PREUPLOAD.match(path)):
                return self._send(hub.preupload(m["repo"], json.loads(body)))
            if method == "POST" and (m := COMMIT.match(path)):
                return self._send(hub.commit(m["repo"], body))
            if method == "GET" and path == "/api/agent-harnesses":
                return self._send(_json(200, {"standardEnvVars": [], "harnesses": {}}))
            if method in ("GET", "HEAD") and (m := RESOLVE.match(path)):
                head = method == "HEAD"
                return self._send(hub.resolve(m["repo"], m["revision"], m["path"]), head_only=head)
            hub.unhandled.append((method, path))
            return self._send(_not_found("NotImplemented", f"stand-in Hub has no route for {method} {path}"))

        def do_GET(self) -> None:
            self._route("GET")

        def do_HEAD(self) -> None:
            self._route("HEAD")

        def do_POST(self) -> None:
            self._route("POST")

    return Handler
