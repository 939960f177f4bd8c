"""Build a model package: a reproducible OCI artifact KServe can load, and its modelcar image.

Layout of the artifact (see docs/registries.md, "What a package holds"):

- one tar+gzip layer whose files sit under ``models/``: the model as Triton reads a
  model repository (``models/<name>/1/model.onnx`` and ``models/<name>/config.pbtxt``)
  plus ``models/mlpipex-config.json`` for ``mlpipex serve`` (what KServe's storage
  initializer extracts for ``oci+fetch://``, and what a modelcar shows at ``/models``);
- a config blob (``application/vnd.mlpipex.model.config.v1+json``): name, version,
  signature, gate verdict and metrics, serving environment, reference profile;
- annotations: version, title, and the modelcar image's digest when one is built;
- the gate report attached as a referrer (its manifest's ``subject`` is the model),
  which also carries the provenance: source, revision, created.

Reproducible and independent of the clone: tar entries sorted, mtime/uid/gid fixed,
gzip header without a time or name, JSON canonical, and nothing about the checkout
(remote, commit, time) in the artifact or the image: those go to the report referrer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import json
import os
import platform
import re
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mlpipex.config import Config
from mlpipex.errors import InputError, Location
from mlpipex.oci import _media as media
from mlpipex.oci._blobs import Descriptor, HashingWriter, canonical_json
from mlpipex.oci._layout import Layout
from mlpipex.oci._modelcar import MODELCAR_SUFFIX, BaseImage, image_config, image_manifest

__all__ = ["Built", "build_package", "model_config_blob", "model_files", "model_manifest", "package_file_name",
           "report_manifest", "serving_config_entry", "triton_config", "write_layer"]

CHUNK = 1 << 20
SERVING_CONFIG = "mlpipex-config.json"  # the config blob, again, inside models/ for the serving pod
SERVING_CONFIG_FLAT = f"mlpipex/{SERVING_CONFIG}"  # ... one level down beside a flat (non-Triton) layout
TRITON_VERSION = "1"  # Triton's model repository: <name>/<version>/model.onnx
LAYER_MTIME = 0  # file times in the layer: fixed, so the digest depends on content alone


@dataclass(frozen=True)
class Built:
    ref_name: str
    manifest: Descriptor
    report: Descriptor | None
    modelcar: Descriptor | None = None


def write_layer(
    files: Sequence[tuple[str, Path | bytes]], out: BinaryIO | HashingWriter, *, mtime: int, compress: bool = True
) -> str:
    """tar (+gzip) of ``files`` ((name in archive, path on disk or bytes)), byte-identical for equal inputs.

    Returns the digest of the uncompressed tar: the layer's ``diff_id`` in an image config.
    """
    gz = gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) if compress else None
    plain = HashingWriter(gz or out)
    with gz or contextlib.nullcontext(), tarfile.open(fileobj=plain, mode="w|",
                                                      format=tarfile.PAX_FORMAT) as tar:  # fmt: skip
        dirs = sorted({str(Path(name).parents[i]) for name, _ in files
                       for i in range(len(Path(name).parents) - 1)})  # fmt: skip
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(_normalised(info, mtime))
        for name, source in sorted(files, key=lambda entry: entry[0]):
            info = tarfile.TarInfo(name)
            info.mode = 0o644
            if isinstance(source, bytes):
                info.size = len(source)
                tar.addfile(_normalised(info, mtime), io.BytesIO(source))
                continue
            info.size = source.stat().st_size
            with source.open("rb") as handle:
                tar.addfile(_normalised(info, mtime), handle)
    return plain.digest


def _normalised(info: tarfile.TarInfo, mtime: int) -> tarfile.TarInfo:
    info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
    return info


def model_config_blob(
    config: Config,
    *,
    model_file: str,
    model_digest: str,
    model_size: int,
    report: dict[str, Any] | None,
    profile: dict[str, Any] | None,
    environment: dict[str, Any],
) -> dict[str, Any]:
    gates = {g["gate"]: g["status"] for g in report["gates"]} if report else {}
    smoke = next((g for g in report["gates"] if g["gate"] == "smoke"), None) if report else None
    signature = config.model.signature.model_dump() if config.model.signature else None
    return {
        "name": config.model.name,
        "version": config.model.version,
        "format": config.model.format,
        "task": config.model.task,
        "model": {"path": model_file, "digest": model_digest, "size": model_size},
        "signature": signature,
        "outputs": config.model.outputs.model_dump(),
        "features": profile and list(profile["features"]),
        "label": config.data.label,
        "gates": {"verdict": report["verdict"], "results": gates} if report else None,
        "metrics": smoke["details"].get("metrics") if smoke else None,
        "environment": environment,
        "profile": profile,
    }


def model_manifest(config_descriptor: Descriptor, layers: Sequence[Descriptor], annotations: dict[str, str]) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": media.MANIFEST,
        "artifactType": media.MODEL_ARTIFACT,
        "config": config_descriptor.to_dict(),
        "layers": [layer.to_dict() for layer in layers],
        "annotations": dict(sorted(annotations.items())),
    }


def report_manifest(subject: Descriptor, report: Descriptor, provenance: dict[str, str]) -> dict[str, Any]:
    """The gate report as a referrer of the model manifest (OCI 1.1 ``subject``), with the provenance.

    Where and when it was built (source, revision, created) lives here, not on the
    model: a fresh clone of the same commit packages the same digest.
    """
    return {
        "schemaVersion": 2,
        "mediaType": media.MANIFEST,
        "artifactType": media.REPORT_ARTIFACT,
        "config": Descriptor.of(media.EMPTY_CONFIG, media.EMPTY_JSON).to_dict(),
        "layers": [report.to_dict()],
        "subject": Descriptor(subject.media_type, subject.digest, subject.size).to_dict(),
        "annotations": dict(sorted({**provenance, media.TITLE: "report.json"}.items())),
    }


def triton_config(name: str, backend: str = "onnxruntime") -> bytes:
    """Triton's config.pbtxt: the backend, and max_batch_size 0 so the model's shapes are taken as they are.

    Triton (KServe's runtime for ``modelFormat: onnx`` with protocol v2 and no runtime
    named) completes inputs and outputs from the ONNX graph itself.
    """
    return f'name: "{name}"\nbackend: "{backend}"\nmax_batch_size: 0\n'.encode()


def package_file_name(fmt: str, model_path: Path) -> str:
    """The model's file name in the package: the one its KServe runtime looks for.

    XGBoost tells JSON from UBJSON by the name when loading a file: a UBJSON booster
    keeps ``.ubj``; JSON and the legacy binary go in as ``model.bst`` (every xgbserver
    version reads that; XGBoost reads JSON under it).
    """
    from mlpipex.runtime import model_format

    if fmt == "xgboost" and model_path.suffix.lower() == ".ubj":
        return "model.ubj"
    return model_format(fmt).package_file


def model_entry(config: Config, model_path: Path) -> str:
    """The model's path in the layer (a file, or a SavedModel's directory): the config blob's ``model.path``."""
    from mlpipex.runtime import model_format

    spec = model_format(config.model.format)
    file_name = package_file_name(spec.name, model_path)
    if spec.triton_backend is None:
        return f"models/{file_name}"
    return f"models/{config.model.name}/{TRITON_VERSION}/{file_name}"


def model_files(config: Config, model_path: Path) -> list[tuple[str, Path | bytes]]:
    """The model's entries in the layer, laid out as its KServe runtime reads them; the model comes first.

    Triton reads a model repository (``<name>/<version>/model.onnx`` or ``model.pt``
    and ``config.pbtxt``); KServe's sklearn, xgboost and lightgbm servers read one
    model file at the top of the model directory. `mlpipex serve` finds the model
    through mlpipex-config.json's model.path, whatever the layout.
    """
    from mlpipex.runtime import model_format

    spec = model_format(config.model.format)
    name = config.model.name
    if spec.triton_backend is None:
        return [(model_entry(config, model_path), model_path)]
    triton = triton_config(name, spec.triton_backend)
    if spec.triton_backend == "pytorch":
        triton = _pytorch_triton_config(config, name)
    if spec.triton_backend == "tensorflow":  # Triton completes a SavedModel's inputs and outputs itself
        triton = f'name: "{name}"\nplatform: "tensorflow_savedmodel"\nmax_batch_size: 0\n'.encode()
    entry = model_entry(config, model_path)
    entries: list[tuple[str, Path | bytes]] = [(entry, model_path)]
    if model_path.is_dir():  # a SavedModel: its tree, under Triton's model.savedmodel/
        entries = [(f"{entry}/{p.relative_to(model_path).as_posix()}", p)
                   for p in sorted(model_path.rglob("*")) if p.is_file()]  # fmt: skip
    return [*entries, (f"models/{name}/config.pbtxt", triton)]


_TRITON_TYPES = {"float32": "TYPE_FP32", "float64": "TYPE_FP64", "float16": "TYPE_FP16", "bfloat16": "TYPE_BF16",
                 "int64": "TYPE_INT64", "int32": "TYPE_INT32", "int16": "TYPE_INT16", "int8": "TYPE_INT8",
                 "uint8": "TYPE_UINT8", "bool": "TYPE_BOOL"}  # fmt: skip


def _pytorch_triton_config(config: Config, name: str) -> bytes:
    """Triton's PyTorch backend completes nothing from a TorchScript file: the signature says every tensor.

    Tensors are named by the backend's positional convention (``INPUT__0``, ``OUTPUT__0``);
    a symbolic or unknown dimension is ``-1``.
    """
    signature = config.model.signature
    if signature is None or not signature.outputs or any(t.shape is None for t in [*signature.inputs, *signature.outputs]):
        raise InputError(
            "a torchscript package needs model.signature with every input's and output's dtype and shape: "
            "Triton's PyTorch backend reads them from config.pbtxt, a TorchScript file does not record them",
            location=Location(str(config.source), config.line_of("model")),
            fix="declare model.signature.inputs and .outputs, e.g. {name: x, dtype: float32, shape: [batch, 30]}",
        )

    def block(kind: str, prefix: str, tensors: Sequence[Any]) -> str:
        entries = []
        for index, tensor in enumerate(tensors):
            dims = ", ".join(str(d) if isinstance(d, int) else "-1" for d in tensor.shape)
            entries.append(f'  {{ name: "{prefix}__{index}" data_type: {_TRITON_TYPES.get(tensor.dtype, "TYPE_FP32")} '
                           f"dims: [ {dims} ] }}")  # fmt: skip
        return f"{kind} [\n" + ",\n".join(entries) + "\n]\n"

    head = triton_config(name, "pytorch").decode()
    return (head + block("input", "INPUT", signature.inputs) + block("output", "OUTPUT", signature.outputs)).encode()


def serving_config_entry(fmt: str) -> str:
    """Where the config blob rides in the layer for `mlpipex serve`.

    Beside a Triton model repository it is ``models/mlpipex-config.json``. A flat
    layout's server takes every top-level ``.json`` for a model (xgbserver), so there
    it sits one directory down, where no KServe server looks.
    """
    from mlpipex.runtime import model_format

    return f"models/{SERVING_CONFIG}" if model_format(fmt).triton_backend else f"models/{SERVING_CONFIG_FLAT}"


def _no_second_model_file(config: Config, entry: str, model_entry: str) -> None:
    from mlpipex.runtime import model_format

    suffixes = model_format(config.model.format).kserve_suffixes
    if suffixes and entry.count("/") == 1 and entry.lower().endswith(suffixes):
        raise InputError(
            f"package.include puts {entry} next to {model_entry}: KServe's {config.model.format} server refuses a "
            "model directory with more than one model file",
            location=Location(str(config.source), config.line_of("package", "include")),
            fix="move the file into a subdirectory, or rename it",
        )


def _git(*args: str, cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _created(cwd: Path, fallback: Path) -> int:
    """SOURCE_DATE_EPOCH, else the commit time, else the model file's mtime: never 'now'."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    commit_time = _git("log", "-1", "--format=%ct", cwd=cwd)
    if commit_time and commit_time.isdigit():
        return int(commit_time)
    return int(fallback.stat().st_mtime)


def _source(cwd: Path) -> str | None:
    if os.environ.get("GITHUB_SERVER_URL") and os.environ.get("GITHUB_REPOSITORY"):
        return f"{os.environ['GITHUB_SERVER_URL']}/{os.environ['GITHUB_REPOSITORY']}"
    if os.environ.get("CI_PROJECT_URL"):
        return os.environ["CI_PROJECT_URL"]
    url = _git("config", "--get", "remote.origin.url", cwd=cwd)
    if url is None:
        return None
    if scp := _SCP_REMOTE.match(url):  # git@github.com:acme/repo.git, the usual SSH remote
        return f"https://{scp['host']}/{scp['path']}"
    if ssh := _SSH_REMOTE.match(url):  # ssh://git@github.com[:22]/acme/repo.git
        return f"https://{ssh['host']}/{ssh['path']}"
    if "@" in url.split("//")[-1]:  # never publish credentials embedded in a remote URL
        url = url.split("//")[0] + "//" + url.split("@", 1)[1] if "//" in url else None
    return url


_HOST = r"(?:[\w.-]+@)?(?P<host>[\w-]+(?:\.[\w-]+)+)"  # a user, then a dotted host name
_SCP_REMOTE = re.compile(rf"^{_HOST}:(?!//)(?P<path>[^\s/][^\s]*)$")
_SSH_REMOTE = re.compile(rf"^(?:git\+)?ssh://{_HOST}(?::\d+)?/(?P<path>[^\s]+)$")
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")


def _redact(text: str) -> str:
    """Credentials in URLs (``--extra-index-url https://user:token@…``) never reach a package."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


def serving_environment(config: Config) -> dict[str, Any]:
    import onnxruntime

    env: dict[str, Any] = {"runtime": "onnxruntime", "onnxruntime": onnxruntime.__version__,
                           "python": platform.python_version()}  # fmt: skip
    if config.model.format != "onnx":
        from mlpipex.runtime import framework_version, model_format

        framework = model_format(config.model.format).framework
        env = {"runtime": framework, framework: framework_version(config.model.format),
               "python": platform.python_version()}  # fmt: skip
    if config.package.requirements:
        path = config.resolve(config.package.requirements)
        if not path.is_file():
            raise InputError(f"package.requirements `{config.package.requirements}` does not exist",
                             location=Location(str(config.source)))  # fmt: skip
        env["requirements"] = {"file": path.name, "content": _redact(path.read_text(encoding="utf-8"))}
    return env


def reference_profile(config: Config) -> dict[str, Any] | None:
    """The reference profile, read a chunk at a time: the training set never sits in memory whole."""
    from mlpipex.runtime.data import iter_table_chunks, table_columns
    from mlpipex.stats.profile import profile_chunks

    source = config.data.training or config.data.holdout
    path = config.resolve(source)
    location = Location(str(config.source))
    if not path.is_file():
        raise InputError(f"the training data {source} does not exist", location=location)
    special = {config.data.label, config.data.prediction_column, config.data.score_column}
    columns = table_columns(path)
    features = config.data.features or [c for c in columns if c not in special]
    missing = [f for f in features if f not in columns]
    if missing:
        raise InputError(f"the training data {source} lacks feature columns: {', '.join(missing)}", location=location)
    try:
        profile = profile_chunks(lambda: iter_table_chunks(path, features), features,
                                 categorical=config.data.categorical)  # fmt: skip
    except ValueError as exc:
        raise InputError(f"the training data {source}: {exc}", location=location) from None
    profile["source"] = Path(source).name
    return profile


def load_report(path: Path, model_digest: str) -> dict[str, Any]:
    try:
        report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"no gate report at {path}", fix="run `mlpipex gate` first, or pass --report FILE") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the gate report {path}: {exc}") from None
    if "sha256:" + str(report.get("model", {}).get("sha256")) != model_digest:
        raise InputError(
            f"the gate report {path} is for another model file (sha256 {report.get('model', {}).get('sha256')})",
            fix="run `mlpipex gate` on this model before packaging it",
        )
    if report.get("verdict") in ("fail", "error"):
        raise InputError(f"the gate report says `{report['verdict']}`: a failed model is not packaged",
                         fix="fix the failing gates, or pass --allow-ungated for an experiment")  # fmt: skip
    return report


def build_package(
    config: Config, layout: Layout, *, report_path: Path | None, allow_ungated: bool = False,
    modelcar_base: BaseImage | None = None,
) -> Built:  # fmt: skip
    """The artifact (and, on ``modelcar_base``, its modelcar image) into ``layout``.

    The base's blobs must already be in ``layout`` (``fetch_base`` puts them there).
    """
    model_path = config.resolve(config.model.path)
    if not model_path.exists():
        raise InputError(f"model file not found: {model_path}", location=Location(str(config.source)))
    from mlpipex.digests import file_digest

    size, hexdigest = file_digest(model_path)
    model_digest = "sha256:" + hexdigest
    report = None
    if report_path is not None and (report_path.exists() or not allow_ungated):
        report = load_report(report_path, model_digest)
    name = config.model.name
    files = model_files(config, model_path)
    for extra in config.package.include:
        path = config.resolve(extra)
        if not path.is_file():
            raise InputError(f"package.include: `{extra}` does not exist", location=Location(str(config.source)))
        entry = f"models/{Path(extra).as_posix().lstrip('./')}"
        _no_second_model_file(config, entry, files[0][0])
        files.append((entry, path))
    compress = config.package.compression == "gzip"
    config_blob = canonical_json(model_config_blob(
        config, model_file=model_entry(config, model_path), model_digest=model_digest, model_size=size, report=report,
        profile=reference_profile(config), environment=serving_environment(config),
    ))  # fmt: skip
    # KServe mounts only the models/ subtree: the config rides along so `mlpipex serve`
    # in the cluster validates requests against the same signature and profile.
    entries: list[tuple[str, Path | bytes]] = [*files, (serving_config_entry(config.model.format), config_blob)]
    diff_id = ""

    def produce(out: HashingWriter) -> None:
        nonlocal diff_id
        diff_id = write_layer(entries, out, mtime=LAYER_MTIME, compress=compress)

    digest, layer_size = layout.put_stream(produce)
    layer = Descriptor(media.LAYER if compress else media.LAYER_TAR, digest, layer_size,
                       {media.TITLE: "models.tar.gz" if compress else "models.tar"})  # fmt: skip
    config_descriptor = Descriptor(media.MODEL_CONFIG, layout.put_bytes(config_blob), len(config_blob))
    annotations = {media.VERSION: config.model.version, media.TITLE: name}
    ref_name = f"{name}:{config.model.version}"
    modelcar = None
    if modelcar_base is not None:
        labels = {media.TITLE: name, media.VERSION: config.model.version, media.MODEL_CONFIG_LABEL: config_descriptor.digest}
        image_config_blob = canonical_json(image_config(modelcar_base.config, diff_id, labels))
        image_config_descriptor = Descriptor(media.IMAGE_CONFIG, layout.put_bytes(image_config_blob), len(image_config_blob))
        model_layer = Descriptor(layer.media_type, layer.digest, layer.size)
        modelcar = layout.add_manifest(image_manifest(image_config_descriptor, modelcar_base, model_layer, annotations),
                                       ref_name=f"{ref_name}{MODELCAR_SUFFIX}")  # fmt: skip
        annotations[media.MODELCAR] = modelcar.digest
    manifest = layout.add_manifest(model_manifest(config_descriptor, [layer], annotations), ref_name=ref_name)
    report_descriptor = None
    if report is not None and report_path is not None:
        data = report_path.read_bytes()
        blob = Descriptor(media.REPORT_LAYER, layout.put_bytes(data), len(data), {media.TITLE: "report.json"})
        layout.put_bytes(media.EMPTY_JSON)
        for older in layout.referrers(manifest.digest):  # a rebuild's report replaces the last one
            if older.artifact_type == media.REPORT_ARTIFACT:
                layout.forget(older.digest)
        report_descriptor = layout.add_manifest(report_manifest(manifest, blob, provenance(config.source.parent, model_path)))
    return Built(ref_name, manifest, report_descriptor, modelcar)


def provenance(cwd: Path, model_path: Path) -> dict[str, str]:
    """Where and when: the report referrer's annotations (never the model's: they differ per clone)."""
    created = dt.datetime.fromtimestamp(_created(cwd, model_path), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    found = {media.CREATED: created}
    if (source := _source(cwd)) is not None:
        found[media.SOURCE] = source
    if (revision := os.environ.get("GITHUB_SHA") or _git("rev-parse", "HEAD", cwd=cwd)) is not None:
        found[media.REVISION] = revision
    return found
