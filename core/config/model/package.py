"""``package:``: the OCI package (registry, extra files, compression) and its modelcar image."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mlpipex.config.model._base import _Strict

__all__ = ["ModelcarConfig", "PackageConfig"]

class ModelcarConfig(_Strict):
    base: str = Field(
        pattern=r"^[^\s@]+@sha256:[0-9a-f]{64}$",
        description=(
            "Base image of the modelcar image (KServe's bare oci:// runs it with `sh -c`: it needs a shell), "
            "pinned by digest, e.g. docker.io/library/busybox@sha256:…; the model layer goes on top, under /models."
        ),
    )
    platform: str = Field("linux/amd64", pattern=r"^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$",
                          description="Platform picked when the base is a multi-platform index.")  # fmt: skip


class PackageConfig(_Strict):
    registry: str | None = Field(None, description="OCI registry host, e.g. ghcr.io.")
    repository: str | None = Field(None, description="Repository in the registry, e.g. org/models/fraud.")
    requirements: str | None = Field(None, description="Lock or requirements file of the serving environment.")
    include: list[str] = Field(default_factory=list, description="Extra files to ship with the model (under models/).")
    compression: Literal["gzip", "none"] = Field(
        "gzip",
        description="Model layer compression; `none` packs and unpacks large, incompressible weights faster.",
    )
    modelcar: ModelcarConfig | None = Field(
        None, description="Also build the package as a modelcar image (what KServe loads for a bare oci:// URI)."
    )
