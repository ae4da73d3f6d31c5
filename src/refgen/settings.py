"""Every server setting: one field each, read from ``REFGEN_*`` variables, validated at start-up."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from refgen.data_folder import default_data_dir

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REFGEN_", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder for the database, files and secret; default: $XDG_DATA_HOME/refgen.",
    )
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite in the data folder.")
    storage_url: str | None = Field(None, description="Folder for files; default: <data_dir>/files.")
    s3_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint; default: AWS or AWS_ENDPOINT_URL."
    )
    s3_region: str | None = Field(None, description="S3 region; default: AWS_DEFAULT_REGION.")
    public_url: str | None = Field(None, description="Base URL clients reach this server at.")
    secret_key: str | None = Field(
        None, description="Server secret; default: generated into the data folder."
    )
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on.")
    workers: int = Field(1, ge=0, le=64, description="Generation worker processes in `serve`.")
    allow_networks: Annotated[list[IPNetwork], NoDecode] = Field(
        default_factory=list, description="CIDRs allowed past the outbound guard, comma-separated."
    )
    callback_retry_delays: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0], description="Seconds between callback retries."
    )
    model_map: Annotated[dict[str, dict[str, Any] | str], NoDecode] = Field(
        default_factory=dict,
        description="Public model name -> backend or preset: inline JSON or a JSON/TOML file.",
    )
    models_dir: Path | None = Field(
        None, description="Folder of the presets' weights (`refgen models pull`); default: <data_dir>/models."
    )
    credits: Annotated[dict[str, Any], NoDecode] = Field(
        default_factory=dict,
        description="Credit figures replacing the defaults: inline JSON or a JSON/TOML file.",
    )
    lease_seconds: float = Field(
        30.0, gt=0, description="How long a worker's claim lasts without a heartbeat."
    )
    heartbeat_seconds: float = Field(0.5, gt=0, description="How often a worker renews its lease.")
    max_attempts: int = Field(
        3, ge=1, description="Tries per task before it fails when its worker keeps dying."
    )
    off_peak_expiry_seconds: float = Field(
        48 * 3600, gt=0, description="Off-peak tasks not started by then fail."
    )
    shutdown_grace_seconds: float = Field(
        30.0, ge=0, description="On SIGTERM, how long a worker may finish its task before handing it back."
    )
    max_queued_tasks: int = Field(
        10_000, ge=1, description="Tasks that may wait (not off-peak) in the whole server; past it, 429."
    )
    max_queued_per_key: int = Field(
        1_000, ge=1, description="Tasks that may wait (not off-peak) for one key; past it, 429."
    )
    retention_days: int = Field(
        7, ge=0, description="Days a finished task, its files and callbacks are kept; 0 keeps them forever."
    )
    default_concurrency: int = Field(5, ge=1, description="Concurrency of new keys.")
    max_connections: int = Field(
        4096, ge=1, description="Open HTTP connections at most (lowered to fit the open-files limit)."
    )
    keep_alive_timeout: int = Field(5, ge=1, description="Seconds an idle keep-alive connection stays open.")
    header_timeout: float = Field(
        10.0, gt=0, description="Seconds a connection has to send a whole request head."
    )
    body_timeout: float = Field(
        30.0, gt=0, description="Seconds a request body may take, plus one per body_min_rate bytes received."
    )
    body_min_rate: float = Field(
        500.0, gt=0, description="Bytes per second that extend the body timeout by one second."
    )
    fetch_timeout: float = Field(20.0, gt=0, description="Seconds to fetch all image URLs of one request.")
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as plain text, or one JSON object per line (`json`)."
    )
    access_log: bool = Field(
        True, description="One log line per HTTP request (logger `refgen.access`), with its trace id."
    )
    metrics_token: SecretStr | None = Field(
        None, description="When set, `/metrics` requires `Authorization: Bearer <token>`; else it is open."
    )
    worker_metrics_port: int | None = Field(
        None, ge=0, le=65535, description="`refgen worker` serves `/metrics` on this port (default: none)."
    )

    @field_validator("allow_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [ipaddress.ip_network(p.strip(), strict=False) for p in value.split(",") if p.strip()]
        return value

    @field_validator("callback_retry_delays", mode="before")
    @classmethod
    def _split_delays(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(p) for p in value.split(",") if p.strip()]
        return value

    @field_validator("model_map", "credits", mode="before")
    @classmethod
    def _load_json_or_file(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return {}
        if text.startswith("{"):
            return json.loads(text)
        path = Path(text).expanduser()
        try:
            content = path.read_text()
        except OSError as exc:  # reported as a bad value of this setting, like bad JSON
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        if path.suffix == ".toml":
            import tomllib

            return tomllib.loads(content)
        return json.loads(content)

    # derived values -------------------------------------------------------------------------------

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'refgen.db').resolve()}"

    @property
    def files_dir(self) -> Path:
        if self.storage_url and not self.storage_url.startswith("s3://"):
            return Path(self.storage_url.removeprefix("file://")).expanduser()
        return self.data_dir / "files"

    @property
    def resolved_models_dir(self) -> Path:
        return (self.models_dir or self.data_dir / "models").expanduser()

    @property
    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"
