"""The App's settings, from ``MLPIPEX_*`` environment variables (or passed explicitly).

Secrets are ``SecretStr``: their repr and str print ``**********``; the code reads
them with ``.get_secret_value()`` only where it signs or compares.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mlpipex.errors import ConfigError

__all__ = ["DEFAULT_DATABASE_URL", "Settings"]

DEFAULT_DATABASE_URL = "sqlite:///mlpipex-app.sqlite3"


class Settings(BaseSettings):
    """Every setting of the App; environment variable = ``MLPIPEX_`` + the upper-case name."""

    model_config = SettingsConfigDict(env_prefix="MLPIPEX_", extra="ignore", hide_input_in_errors=True)

    app_id: int | None = Field(None, description="the GitHub App's id (from its settings page)")
    private_key_path: Path | None = Field(None, description="the App's private key (PEM), a mounted file")
    webhook_secret: SecretStr | None = Field(None, description="the webhook secret set on the App (required)")
    database_url: SecretStr = Field(SecretStr(DEFAULT_DATABASE_URL),
                                    description="sqlite:///FILE (one replica) or postgresql://… (several)")  # fmt: skip
    allowed_repositories: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="comma-separated owner/name list; empty: every repository the App is installed on")  # fmt: skip
    gate_app_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="comma-separated ids of the GitHub Apps whose `mlpipex / MODEL` check runs count as "
        "gate results; empty: this App's own id only (let CI create the run with the App's token)")  # fmt: skip
    github_api_url: str = Field("https://api.github.com", description="GitHub's REST API (GHES: https://HOST/api/v3)")
    alert_token: SecretStr | None = Field(None, description="bearer token for /alerts/* (HMAC with the webhook secret also works)")
    api_token: SecretStr | None = Field(None, description="bearer token for /api/audit")
    worker_threads: int = Field(2, ge=0, description="job worker threads in this process; 0 runs the API only")
    max_body_bytes: int = Field(25 * 1024 * 1024, gt=0, description="largest webhook body accepted (GitHub caps payloads at 25 MB)")
    job_max_attempts: int = Field(5, ge=1, description="attempts before a job is dead-lettered")
    job_lease_seconds: float = Field(60.0, gt=0, description="how long a worker's claim lasts without a heartbeat")
    poll_interval: float = Field(1.0, gt=0, description="seconds between queue polls when idle")
    kubeconfig: Path | None = Field(None, description="kubeconfig for the clusters the environments name (default: in-cluster)")
    rollout_timeout: float = Field(300.0, gt=0, description="seconds a rollout step waits for the InferenceService to be Ready")
    metrics_url: str | None = Field(None, description="the monitor's URL, the canary analysis's metrics source when a config names no Prometheus")
    retention_days: float = Field(30.0, gt=0, description="deliveries and finished jobs older than this are deleted (dead jobs and the audit log stay)")

    @field_validator("allowed_repositories", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("gate_app_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def trusted_gate_apps(self) -> frozenset[int]:
        """The Apps whose gate check runs the App believes: the listed ones, else itself."""
        if self.gate_app_ids:
            return frozenset(self.gate_app_ids)
        return frozenset({self.app_id}) if self.app_id is not None else frozenset()

    @field_validator("allowed_repositories")
    @classmethod
    def _repository_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if name.count("/") != 1 or name.startswith("/") or name.endswith("/"):
                raise ValueError(f"{name!r} is not owner/name")
        return [name.lower() for name in value]

    def allows(self, repository: str | None) -> bool:
        """True when events for ``repository`` may act (no list: every installed repository)."""
        if not self.allowed_repositories or repository is None:
            return True
        return repository.lower() in self.allowed_repositories

    def require_webhook_secret(self) -> str:
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if not secret:
            raise ConfigError("the GitHub App needs a webhook secret and none is set",
                              fix="set MLPIPEX_WEBHOOK_SECRET to the secret configured on the App "
                                  "(generate one with `openssl rand -hex 32`)")  # fmt: skip
        return secret

    def private_key(self) -> str | None:
        """The App's private key (PEM), read from ``private_key_path``; None when unset."""
        if self.private_key_path is None:
            return None
        try:
            return self.private_key_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the App's private key at {self.private_key_path}: {exc.strerror}",
                              fix="mount the key file and point MLPIPEX_PRIVATE_KEY_PATH at it") from None  # fmt: skip
