"""Which environment a command or a handler acts in (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlpipex.errors import InputError

if TYPE_CHECKING:
    from mlpipex.config import Config
    from mlpipex.config.model import EnvironmentConfig

__all__ = ["environment"]


def environment(config: Config, name: str | None = None, mode: str | None = None) -> EnvironmentConfig:
    """``deploy.environments`` entry ``name`` (default: the first; a config without any has
    one called ``default``), with its KServe ``mode`` overridden when given."""
    from mlpipex.config.model import EnvironmentConfig

    environments = config.deploy.environments or [EnvironmentConfig(name="default")]
    chosen = environments[0]
    if name is not None:
        matches = [e for e in environments if e.name == name]
        if not matches:
            raise InputError(f"{config.model.name} has no environment `{name}`",
                             fix=f"environments: {', '.join(e.name for e in environments)}")  # fmt: skip
        chosen = matches[0]
    return chosen.model_copy(update={"mode": mode}) if mode else chosen
