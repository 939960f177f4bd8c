"""A small in-process OCI registry with the referrers API, for what distribution 2.8 lacks.

Only a stand-in (the real registry tests use Debian's docker-registry): it stores
blobs and manifests in memory, answers the OCI distribution 1.1 referrers endpoint
and the ``OCI-Subject`` header, and can be told to refuse uploads the way a full
registry does (quota). Enough of the protocol for mlpipex's client, no more.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from _fake_server import FakeServer

INDEX = "application/vnd.oci.image.index.v1+json"


class StandInRegistry(FakeServer):
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.manifests: dict[str, tuple[bytes, str]] = {}  # digest -> (bytes, media type)
        self.tags: dict[tuple[str, str], str] = {}
        self.uploads: dict[str, bytearray] = {}
        self.quota_exceeded = False
        self.requests: list[tuple[str, str]] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self) -> None:
                registry.requests.append(("GET", self.path))
                registry.route(self)

            do_HEAD = do_GET

            def do_POST(self) -> None:
                registry.requests.append(("POST", self.path))
                registry.route(self)

            def do_PUT(self) -> None:
                registry.requests.append(("PUT", self.path))
                registry.route(self)

        super().__init__(Handler)

    def route(self, h: Any) -> None:
        path = h.path.split("?")[0]
        query = dict(p.split("=", 1) for p in h.path.split("?", 1)[1].split("&")) if "?" in h.path else {}
        if path == "/v2/":
            return h._send(200, b"{}")
        m = re.match(r"^/v2/(.+)/blobs/uploads/([^/]*)$", path)
        if m and h.command == "POST":
            h._body()
            upload = uuid.uuid4().hex
            self.uploads[upload] = bytearray()
            return h._send(202, headers={"Location": f"/v2/{m.group(1)}/blobs/uploads/{upload}"})
        if m and h.command == "PUT":
            data = h._body()
            if self.quota_exceeded:
                error = {"errors": [{"code": "DENIED", "message": "storage quota exceeded"}]}
                return h._send(403, json.dumps(error).encode())
            digest = "sha256:" + hashlib.sha256(bytes(self.uploads.pop(m.group(2))) + data).hexdigest()
            if digest != query.get("digest"):
                return h._send(400, b'{"errors":[{"code":"DIGEST_INVALID"}]}')
            self.blobs[digest] = data
            return h._send(201, headers={"Location": f"/v2/{m.group(1)}/blobs/{digest}"})
        m = re.match(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$", path)
        if m:
            if m.group(2) not in self.blobs:
                return h._send(404)
            return h._send(200, self.blobs[m.group(2)])
        m = re.match(r"^/v2/(.+)/referrers/(sha256:[0-9a-f]{64})$", path)
        if m:
            found = []
            for digest, (data, media_type) in self.manifests.items():
                manifest = json.loads(data)
                if manifest.get("subject", {}).get("digest") == m.group(2):
                    found.append({"mediaType": media_type, "digest": digest, "size": len(data),
                                  "artifactType": manifest.get("artifactType")})  # fmt: skip
            index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": found}
            return h._send(200, json.dumps(index).encode(), {"Content-Type": INDEX})
        m = re.match(r"^/v2/(.+)/manifests/([^/]+)$", path)
        if m:
            repo, ref = m.groups()
            if h.command == "PUT":
                data = h._body()
                digest = "sha256:" + hashlib.sha256(data).hexdigest()
                self.manifests[digest] = (data, h.headers["Content-Type"])
                if not ref.startswith("sha256:"):
                    self.tags[(repo, ref)] = digest
                headers = {"Docker-Content-Digest": digest}
                subject = json.loads(data).get("subject")
                if subject:
                    headers["OCI-Subject"] = subject["digest"]
                return h._send(201, headers=headers)
            digest = ref if ref.startswith("sha256:") else self.tags.get((repo, ref))
            if digest not in self.manifests:
                return h._send(404)
            data, media_type = self.manifests[digest]
            return h._send(200, data, {"Content-Type": media_type, "Docker-Content-Digest": digest})
        m = re.match(r"^/v2/(.+)/tags/list$", path)
        if m:
            tags = sorted(t for (r, t) in self.tags if r == m.group(1))
            return h._send(200, json.dumps({"name": m.group(1), "tags": tags}).encode())
        return h._send(404)
