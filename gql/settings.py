"""All settings, from the environment (``PROVISYNC_*``), through one object."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from gql.security.config import SecuritySettings


class Settings(SecuritySettings):
    """provisync's settings. Each field reads ``PROVISYNC_<FIELD>`` from the environment.

    The security fields (authentication, secret key, limits, CORS) come from
    :class:`gql.security.config.SecuritySettings`.
    """

    model_config = SettingsConfigDict(env_prefix="PROVISYNC_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///provisync.db",
        description="SQLAlchemy async URL: the embedded SQLite file, or postgresql+psycopg://...",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    connector_timeout: float = Field(
        default=120.0, description="Seconds one connector call may take before the run fails."
    )
    request_timeout: float = Field(
        default=30.0, description="Seconds one request to an outside system may take."
    )
    outbound_debounce: float = Field(
        default=0.2, description="Seconds directory changes are gathered before they are pushed."
    )
    scheduler_tick: float = Field(
        default=5.0, description="Seconds between checks for inbound rules due for a poll."
    )
    batch_size: int = Field(default=500, description="Entities handed to a connector at once.")
    disable_plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Plugin names not to load (comma-separated)."
    )
    extra_plugins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Module names to register as plugins (tests, dev)."
    )
    max_page_size: int = Field(default=100, description="Largest `first` a connection accepts.")
    query_max_depth: int = 12
    query_max_aliases: int = 30
    query_max_tokens: int = 4000
    quarantine_after_failures: int = Field(
        default=3, ge=1, description="Runs in a row that fail as a whole before quarantine."
    )
    quarantine_base_seconds: float = Field(
        default=300.0, gt=0, description="First retry delay of a quarantined rule (doubles)."
    )
    quarantine_max_seconds: float = Field(
        default=6 * 3600.0, gt=0, description="Longest delay between quarantine retries."
    )
    retry_base_seconds: float = Field(
        default=30.0,
        gt=0,
        description="First delay before an entity whose push or write-back failed is tried "
        "again (doubles with each failed attempt).",
    )
    retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest delay between retries of one entity."
    )
    execution: Literal["inprocess", "queue"] = Field(
        default="inprocess",
        description="inprocess: this process runs syncs (embedded). queue: runs are jobs on "
        "PostgreSQL that `provisync worker` processes execute (scale-out).",
    )
    worker_heartbeat_seconds: float = Field(
        default=5.0, gt=0, description="How often a worker says it is alive."
    )
    worker_stalled_seconds: float = Field(
        default=30.0, gt=0, description="A worker silent this long is dead: its jobs run again."
    )
    worker_recovery_seconds: float = Field(
        default=10.0, gt=0, description="How often workers look for dead workers' jobs."
    )
    resync_chunk_size: int = Field(
        default=0,
        ge=0,
        description="Queue mode: a full outbound resync of more users than this is split into "
        "chunks of this many users that several workers push at once (0, the default: never "
        "split). Worth it when the workers, not the target, are what limits a resync.",
    )
    on_demand_wait: float = Field(
        default=20.0, gt=0, description="Seconds provisionOnDemand waits for its run to end."
    )
    audit_retention_days: int = Field(
        default=90,
        ge=0,
        description="Audit events older than this many days are purged in "
        "the background (0: kept forever).",
    )
    audit_retention_interval_seconds: float = Field(
        default=3600.0, gt=0, description="Seconds between checks for audit events to purge."
    )
    audit_retention_batch_size: int = Field(
        default=5000, ge=1, description="Audit events deleted per transaction when purging."
    )
    export_batch_size: int = Field(
        default=1000, ge=1, description="Rows read per query while streaming an audit export."
    )
    webhook_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a webhook receiver may take to answer."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, description="Attempts at one webhook delivery before it is FAILED."
    )
    webhook_retry_base_seconds: float = Field(
        default=10.0, gt=0, description="Delay before a failed delivery's first retry (doubles)."
    )
    webhook_retry_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest delay between retries of a delivery."
    )
    webhook_tick_seconds: float = Field(
        default=1.0, gt=0, description="Seconds between checks for webhook deliveries due."
    )
    webhook_write_back_failure_threshold: int = Field(
        default=1,
        ge=1,
        description="A run with at least this many failed write-backs notifies webhooks.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as plain text, or as JSON objects (one a line)."
    )
    log_level: str = Field(default="INFO", description="The root logger's level.")

    @field_validator("disable_plugins", "extra_plugins", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
