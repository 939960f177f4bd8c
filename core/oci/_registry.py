"""The one module that talks to OCI registries.

Built on oras-py's public pieces — its ``Registry`` client for the HTTP session,
docker ``config.json`` loading and the Basic/Bearer auth backends (chosen from the
registry's own ``WWW-Authenticate`` challenge) — with what oras-py lacks here:
streamed uploads and downloads that never hold a blob in memory and check its
digest on the way, byte-exact manifest uploads (digests depend on the bytes),
fast failure with a clear message instead of minutes of silent retries, and the
OCI 1.1 referrers API with its tag-schema fallback.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipex import secrets
from mlpipex.errors import ExternalError, InputError

try:
    import requests
except ImportError:  # pragma: no cover - the base install has no registry client
    raise InputError("talking to a registry needs the `oci` extra",
                     fix="pip install 'mlpipex[oci]'") from None
from mlpipex.oci import _media as media
from mlpipex.oci._blobs import Descriptor, canonical_json, sha256_digest
from mlpipex.oci._reference import Reference, is_loopback

__all__ = ["Credentials", "Progress", "RegistryClient", "credentials_for"]

Progress = Callable[[str, int, int], None]
CHUNK = 1 << 20
MANIFEST_ACCEPT = ", ".join([media.MANIFEST, media.INDEX, media.DOCKER_MANIFEST, media.DOCKER_MANIFEST_LIST])


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print a secret, even by accident
        return f"Credentials(username={self.username!r}, password=***)"


def credentials_for(registry: str, environ: dict[str, str] | None = None) -> Credentials | None:
    """MLPIPEX_REGISTRY_USERNAME/PASSWORD, else GITHUB_TOKEN for ghcr.io; docker config.json is read later.

    With MLPIPEX_REGISTRY_HOST (one host or a comma-separated list, as a reference names it:
    ``ghcr.io``, ``registry.example.com:5000``) the username and password go to those hosts
    only: a configuration that names another registry (a baseline.artifact in a pull
    request) cannot collect them. Without it they go to every registry, as before.
    """
    env = dict(os.environ) if environ is None else environ
    user, password = env.get("MLPIPEX_REGISTRY_USERNAME"), env.get("MLPIPEX_REGISTRY_PASSWORD")
    if user and password and _in_scope(registry, env.get("MLPIPEX_REGISTRY_HOST", "")):
        return Credentials(user, password)
    if registry == "ghcr.io" and env.get("GITHUB_TOKEN"):
        return Credentials(env.get("GITHUB_ACTOR") or "mlpipex", env["GITHUB_TOKEN"])
    return None


def _in_scope(registry: str, hosts: str) -> bool:
    scope = {h.strip().lower() for h in hosts.split(",") if h.strip()}
    return not scope or registry.lower() in scope


def _scope_hint(registry: str) -> str:
    hosts = os.environ.get("MLPIPEX_REGISTRY_HOST", "")
    if os.environ.get("MLPIPEX_REGISTRY_USERNAME") and not _in_scope(registry, hosts):
        return f" (MLPIPEX_REGISTRY_HOST={hosts} keeps MLPIPEX_REGISTRY_USERNAME/PASSWORD from {registry}: add it there)"
    return ""


def _no_progress(label: str, done: int, total: int) -> None:
    return None


class RegistryClient:
    """One registry host. Every failure is an ``ExternalError`` (exit 3) naming what and why."""

    def __init__(
        self,
        registry: str,
        *,
        insecure: bool = False,
        ca_bundle: str | None = None,
        credentials: Credentials | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        progress: Progress = _no_progress,
    ) -> None:
        try:
            import oras.provider
        except ImportError:
            raise InputError("talking to a registry needs the `oci` extra", fix="pip install 'mlpipex[oci]'") from None

        self.registry = registry
        self.timeout = timeout
        self.retries = retries
        self.progress = progress
        self.verify: bool | str = ca_bundle or os.environ.get("MLPIPEX_REGISTRY_CA_BUNDLE") or True
        self._credentials = credentials
        self._scheme = "http" if insecure else "https"
        self._fallback_to_http = not insecure and is_loopback(registry)
        self._oras = oras.provider.Registry(hostname=registry, insecure=insecure, tls_verify=self.verify)
        self._session = self._oras.session
        self._pinged = False
        self._has_credentials = False
        self._bearer = False

    # -- connection and auth -------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: find the scheme and the auth scheme the registry wants."""
        if self._pinged:
            return
        try:
            response = self._session.get(self._url("/v2/"), timeout=self.timeout, verify=self.verify)
        except requests.exceptions.SSLError as exc:
            tls_error = ExternalError(
                f"TLS with {self.registry} failed: {_short(exc)}",
                fix="pass the registry's CA with --ca-file (or MLPIPEX_REGISTRY_CA_BUNDLE)",
            )
            if not self._fallback_to_http:
                raise tls_error from None
            # A loopback registry may speak plain HTTP (the handshake then fails too);
            # one that answers plain HTTP with 400 speaks TLS, and its certificate is the problem.
            try:
                response = self._plain_http_ping()
            except ExternalError:
                raise tls_error from None
            if response.status_code == 400:
                raise tls_error from None
        except requests.exceptions.ConnectionError as exc:
            if not self._fallback_to_http:
                raise self._unreachable(exc) from None
            response = self._plain_http_ping()
        if response.status_code not in (200, 401):
            raise ExternalError(f"{self.registry} does not speak the OCI distribution API "
                                f"(GET /v2/ answered {response.status_code})")  # fmt: skip
        challenge = response.headers.get("WWW-Authenticate", "")
        self._bearer = challenge.lower().startswith("bearer")
        self._use_backend("token" if self._bearer else "basic")
        self._pinged = True

    def _plain_http_ping(self) -> requests.Response:
        # Loopback registries commonly speak plain HTTP; docker allows them too.
        self._scheme = "http"
        try:
            return self._session.get(self._url("/v2/"), timeout=self.timeout)
        except requests.exceptions.ConnectionError as exc:
            raise self._unreachable(exc) from None

    def _use_backend(self, name: str) -> None:
        import oras.auth
        import oras.container

        auth = oras.auth.get_auth_backend(name, self._session, self._scheme == "http", tls_verify=self.verify)
        if self._credentials:
            auth.set_basic_auth(self._credentials.username, self._credentials.password)
        else:
            # oras-py looks only in ~/.docker; DOCKER_CONFIG is where CI systems put it.
            configs = [str(Path(os.environ["DOCKER_CONFIG"]) / "config.json")] if os.environ.get("DOCKER_CONFIG") else []
            auth.load_configs(oras.container.Container("x/x", registry=self.registry), configs=configs)
        self._has_credentials = bool(getattr(auth, "_basic_auth", None))
        # Credentials from docker config.json or --password never reach an output, nor does
        # their Basic form; bearer tokens are registered as they are issued (_auth_headers).
        secrets.register(self._credentials.password if self._credentials else None, getattr(auth, "_basic_auth", None))
        self._oras.auth = auth

    def _auth_headers(self) -> dict[str, str]:
        auth = self._oras.auth
        if getattr(auth, "token", None):
            secrets.register(auth.token)
            return {"Authorization": f"Bearer {auth.token}"}
        if self._has_credentials and type(auth).__name__ == "BasicAuth":
            return {"Authorization": f"Basic {auth._basic_auth}"}
        return {}

    def _unreachable(self, exc: Exception) -> ExternalError:
        return ExternalError(f"cannot reach registry {self.registry}: {_short(exc)}",
                             fix="check the address and that the registry is up; retry when it is")  # fmt: skip

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self._scheme}://{self.registry}{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        data: Any = None,
        stream: bool = False,
        replayable: bool = True,
        what: str = "",
    ) -> requests.Response:
        """One HTTP exchange with auth; retries connection faults and 5xx when ``replayable``."""
        self.ping()
        attempt = 0
        while True:
            sent = {**(headers or {}), **self._auth_headers()}
            try:
                response = self._session.request(method, self._url(path), headers=sent, data=data, stream=stream,
                                                 timeout=self.timeout, verify=self.verify)  # fmt: skip
            except requests.exceptions.ConnectionError as exc:
                if replayable and attempt < self.retries:
                    attempt += 1
                    time.sleep(min(0.5 * 2**attempt, 5))
                    continue
                raise self._unreachable(exc) from None
            if response.status_code == 401 and attempt == 0 and (self._has_credentials or self._bearer):
                _, changed = self._oras.auth.authenticate_request(response, dict(sent))
                attempt += 1
                if changed and replayable:
                    continue
            if response.status_code >= 500 and replayable and attempt < self.retries:
                attempt += 1
                time.sleep(min(0.5 * 2**attempt, 5))
                continue
            return response

    def fail(self, response: requests.Response, what: str) -> ExternalError:
        code = response.status_code
        detail = _registry_message(response)
        if code in (401, 403):
            return ExternalError(
                f"{self.registry} refused {what}: {'unauthorised' if code == 401 else 'forbidden'}{detail}",
                fix="set MLPIPEX_REGISTRY_USERNAME/MLPIPEX_REGISTRY_PASSWORD, `docker login`, or GITHUB_TOKEN for ghcr.io"
                + _scope_hint(self.registry),
            )
        if code == 404:
            return ExternalError(f"{what}: not found on {self.registry}{detail}",
                                 fix="check the repository, tag or digest")  # fmt: skip
        if code in (413, 507) or "quota" in detail.lower():
            return ExternalError(f"{self.registry} refused {what}: storage quota or size limit{detail}",
                                 fix="free space in the registry or raise its limits")  # fmt: skip
        return ExternalError(f"{self.registry} failed {what}: HTTP {code}{detail}")

    # -- blobs ---------------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        response = self.request("HEAD", f"/v2/{repository}/blobs/{digest}", what=f"HEAD blob {digest[:19]}")
        return response.status_code == 200

    def upload_blob(self, repository: str, descriptor: Descriptor, source: Path | bytes) -> bool:
        """Upload unless present. Streams a file in 1 MiB chunks; retries the whole blob on failure."""
        if self.blob_exists(repository, descriptor.digest):
            return False
        what = f"upload of blob {descriptor.digest[:19]}…"
        for attempt in range(self.retries + 1):
            start = self.request("POST", f"/v2/{repository}/blobs/uploads/", headers={"Content-Length": "0"},
                                 what=what)  # fmt: skip
            if start.status_code != 202:
                raise self.fail(start, what)
            location = start.headers.get("Location", "")
            location = location if location.startswith("http") else self._url(location)
            url = location + ("&" if "?" in location else "?") + f"digest={descriptor.digest}"
            body: Any = source if isinstance(source, bytes) else _Upload(source, descriptor.size, self.progress)
            try:
                done = self.request("PUT", url, data=body, replayable=isinstance(source, bytes), what=what,
                                    headers={"Content-Type": "application/octet-stream",
                                             "Content-Length": str(descriptor.size)})  # fmt: skip
            except ExternalError:
                if attempt == self.retries:
                    raise
                time.sleep(min(0.5 * 2**attempt, 5))
                continue
            finally:
                if isinstance(body, _Upload):
                    body.close()
            if done.status_code == 201:
                return True
            if done.status_code < 500 or attempt == self.retries:
                raise self.fail(done, what)
        raise AssertionError("unreachable")

    def download_blob(self, repository: str, descriptor: Descriptor, dest: Path) -> None:
        """Stream to ``dest``, checking size and sha256 before the file gets its name."""
        what = f"download of blob {descriptor.digest[:19]}…"
        tmp = dest.with_name(f".{dest.name}.partial")
        last: ExternalError | None = None
        for attempt in range(self.retries + 1):
            try:
                self._download_once(repository, descriptor, tmp, what)
                tmp.replace(dest)
                return
            except _Mismatch as exc:
                last = ExternalError(str(exc), fix="the registry or a proxy altered the data; nothing was kept")
            except ExternalError as exc:
                last = exc
            finally:
                tmp.unlink(missing_ok=True)
            if attempt < self.retries:
                time.sleep(min(0.5 * 2**attempt, 5))
        assert last is not None
        raise last

    def stream_blob(self, repository: str, descriptor: Descriptor, consume: Callable[[_VerifyingReader], None]) -> None:
        """Hand the blob to ``consume`` as a stream; afterwards check size and digest.

        ``consume`` must be safe to call again (a retry starts over) and must keep
        what it wrote unpublished until this returns: until then it is unverified.
        """
        what = f"download of blob {descriptor.digest[:19]}…"
        last: ExternalError | None = None
        for attempt in range(self.retries + 1):
            response = self.request("GET", f"/v2/{repository}/blobs/{descriptor.digest}", stream=True, what=what)
            with response:
                if response.status_code != 200:
                    raise self.fail(response, what)
                reader = _VerifyingReader(response, descriptor, self.progress)
                try:
                    consume(reader)
                    reader.finish(what)
                    return
                except _Mismatch as exc:
                    last = ExternalError(str(exc), fix="the registry or a proxy altered the data; nothing was kept")
                except (requests.exceptions.RequestException, OSError, EOFError) as exc:
                    last = self._explain(reader, what, exc)
                finally:
                    reader.close()
            if attempt < self.retries:
                time.sleep(min(0.5 * 2**attempt, 5))
        assert last is not None
        raise last

    @staticmethod
    def _explain(reader: _VerifyingReader, what: str, exc: Exception) -> ExternalError:
        """A consumer failed mid-stream: was the data altered, cut short, or just bad?"""
        try:
            reader.finish(what)
        except _Mismatch as mismatch:
            return ExternalError(str(mismatch), fix="the registry or a proxy altered the data; nothing was kept")
        except (requests.exceptions.RequestException, OSError) as broken:
            return ExternalError(f"{what} broke off after {reader.size} bytes: {_short(broken)}")
        return ExternalError(f"{what}: {_short(exc)}", fix="the blob matches its digest but is not a valid layer")

    def _download_once(self, repository: str, descriptor: Descriptor, tmp: Path, what: str) -> None:
        response = self.request("GET", f"/v2/{repository}/blobs/{descriptor.digest}", stream=True, what=what)
        with response:
            if response.status_code != 200:
                raise self.fail(response, what)
            digest, size = hashlib.sha256(), 0
            try:
                with tmp.open("wb") as out:
                    for chunk in response.iter_content(CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                        self.progress(f"pull {descriptor.digest[7:19]}", size, descriptor.size)
            except requests.exceptions.RequestException as exc:
                raise ExternalError(f"{what} broke off after {size} bytes: {_short(exc)}") from None
        if size != descriptor.size:
            raise _Mismatch(f"{what}: got {size} bytes, the manifest says {descriptor.size} (truncated?)")
        if "sha256:" + digest.hexdigest() != descriptor.digest:
            raise _Mismatch(f"{what}: content digest sha256:{digest.hexdigest()[:12]}… does not match "
                            f"{descriptor.digest[:19]}…")  # fmt: skip

    # -- manifests -----------------------------------------------------------------

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> requests.Response:
        what = f"manifest upload to {repository}:{reference}"
        response = self.request("PUT", f"/v2/{repository}/manifests/{reference}", data=data, what=what,
                                headers={"Content-Type": media_type})  # fmt: skip
        if response.status_code != 201:
            raise self.fail(response, what)
        return response

    def get_manifest(self, ref: Reference) -> tuple[bytes, str, str]:
        """(bytes, media type, digest); a manifest fetched by digest is checked against it."""
        what = f"manifest {ref}"
        response = self.request("GET", f"/v2/{ref.repository}/manifests/{ref.target}", what=what,
                                headers={"Accept": MANIFEST_ACCEPT})  # fmt: skip
        if response.status_code != 200:
            raise self.fail(response, what)
        data = response.content
        digest = sha256_digest(data)
        if ref.digest and digest != ref.digest:
            raise ExternalError(f"{what}: the registry returned content with digest {digest}",
                                fix="the registry or a proxy altered the manifest; do not trust it")  # fmt: skip
        return data, response.headers.get("Content-Type", media.MANIFEST).split(";")[0], digest

    def resolve(self, ref: Reference) -> str | None:
        """The digest a tag points at, or None when the tag does not exist."""
        response = self.request("HEAD", f"/v2/{ref.repository}/manifests/{ref.target}",
                                headers={"Accept": MANIFEST_ACCEPT}, what=f"lookup of {ref}")  # fmt: skip
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self.fail(response, f"lookup of {ref}")
        digest = response.headers.get("Docker-Content-Digest")
        return digest or self.get_manifest(ref)[2]

    def tags(self, repository: str) -> list[str]:
        response = self.request("GET", f"/v2/{repository}/tags/list", what=f"tag list of {repository}")
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise self.fail(response, f"tag list of {repository}")
        return list(response.json().get("tags") or [])

    # -- referrers (OCI distribution 1.1) -----------------------------------------

    def referrers(self, repository: str, digest: str) -> list[dict[str, Any]]:
        response = self.request("GET", f"/v2/{repository}/referrers/{digest}", what="referrers lookup",
                                headers={"Accept": media.INDEX})  # fmt: skip
        if response.status_code == 200 and response.headers.get("Content-Type", "").startswith(media.INDEX):
            return list(response.json().get("manifests") or [])
        index = self._fallback_index(repository, digest)
        return list(index.get("manifests") or []) if index else []

    def _fallback_index(self, repository: str, digest: str) -> dict[str, Any] | None:
        tag = digest.replace(":", "-")
        response = self.request("GET", f"/v2/{repository}/manifests/{tag}", headers={"Accept": media.INDEX},
                                what="referrers fallback tag")  # fmt: skip
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self.fail(response, f"referrers fallback tag {tag}")
        index: dict[str, Any] = response.json()
        return index

    def attach(self, repository: str, subject: str, manifest: bytes, descriptor: Descriptor) -> str:
        """Push a referrer manifest; keep the tag-schema index up to date when the API is absent."""
        response = self.put_manifest(repository, descriptor.digest, manifest, media.MANIFEST)
        if response.headers.get("OCI-Subject") == subject:
            return "referrers API"
        index = self._fallback_index(repository, subject) or {"schemaVersion": 2, "mediaType": media.INDEX,
                                                               "manifests": []}  # fmt: skip
        entries = [m for m in index.get("manifests", []) if m.get("digest") != descriptor.digest]
        index["manifests"] = [*entries, descriptor.to_dict()]
        self.put_manifest(repository, subject.replace(":", "-"), canonical_json(index), media.INDEX)
        return "referrers tag schema"


class _Upload:
    """A file as a request body: a known length (so no chunked encoding) and read in pieces."""

    def __init__(self, path: Path, size: int, progress: Progress) -> None:
        self._handle = path.open("rb")
        self._size = size
        self._sent = 0
        self._progress = progress
        self._label = f"push {path.name[:12]}"

    def __len__(self) -> int:
        return self._size

    def read(self, amount: int = -1) -> bytes:
        data = self._handle.read(max(amount, CHUNK) if amount > 0 else -1)
        self._sent += len(data)
        self._progress(self._label, self._sent, self._size)
        return data

    def close(self) -> None:
        self._handle.close()


class _BackgroundSha256:
    """sha256 of the chunks given to ``update``, computed in a thread of its own.

    hashlib releases the GIL on large buffers, so hashing overlaps the network reads and
    the file writes of the consumer instead of adding to them (~0.8 s per GiB here).
    Chunks are queued in order (a bounded queue: at most ~16 MiB waits in memory).
    """

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._thread = threading.Thread(target=self._run, name="mlpipex-sha256", daemon=True)
        self._thread.start()
        self._digest: str | None = None

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._hash.update(chunk)

    def update(self, data: bytes) -> None:
        if data:
            self._queue.put(data)

    def hexdigest(self) -> str:
        if self._digest is None:
            self._queue.put(None)
            self._thread.join()
            self._digest = self._hash.hexdigest()
        return self._digest


class _VerifyingReader:
    """A file-like view of a blob response that hashes and counts what is read."""

    def __init__(self, response: requests.Response, descriptor: Descriptor, progress: Progress) -> None:
        self._raw = response.raw
        self._descriptor = descriptor
        self._progress = progress
        self._hash = _BackgroundSha256()
        self.size = 0

    def read(self, amount: int = -1) -> bytes:
        data: bytes = self._raw.read(amount if amount and amount > 0 else None)
        self._hash.update(data)
        self.size += len(data)
        self._progress(f"pull {self._descriptor.digest[7:19]}", self.size, self._descriptor.size)
        return data

    def finish(self, what: str) -> None:
        while self.read(CHUNK):  # the consumer may stop early (tar padding): hash the rest
            pass
        if self.size != self._descriptor.size:
            raise _Mismatch(f"{what}: got {self.size} bytes, the manifest says {self._descriptor.size} (truncated?)")
        digest = self._hash.hexdigest()
        if "sha256:" + digest != self._descriptor.digest:
            raise _Mismatch(f"{what}: content digest sha256:{digest[:12]}… does not match "
                            f"{self._descriptor.digest[:19]}…")  # fmt: skip

    def close(self) -> None:
        """Stop the hashing thread (a consumer that failed leaves it waiting)."""
        self._hash.hexdigest()


class _Mismatch(Exception):
    """Downloaded bytes are not what the descriptor promised."""


def _short(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("()'\" ")[:200]


def _registry_message(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return ""
    messages = [str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict)]
    return f" ({'; '.join(messages)[:300]})" if messages else ""
