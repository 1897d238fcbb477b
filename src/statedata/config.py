"""Settings for one statedata installation: where its home folder is and what it connects to.

Values come from environment variables (`STATEDATA_*`), then `statedata.toml` in the home
folder, then the defaults below. Nothing here opens a connection.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_HOME = Path("statedata-home")

# data.ct.gov's ten categories (CT open data handbook, metadata standards).
DEFAULT_CATEGORIES = [
    "Business",
    "Education",
    "Environment and Natural Resources",
    "Government",
    "Health and Human Services",
    "Housing and Development",
    "Local Government",
    "Public Safety",
    "Tax and Revenue",
    "Transportation",
]


class Settings(BaseModel):
    """Every setting of an installation, documented in docs/configuration.md."""

    # A misspelt setting must not pass silently: `databse_url` would leave the catalog in
    # SQLite without a word.
    model_config = ConfigDict(extra="forbid")

    home: Path = Field(default=DEFAULT_HOME, description="Folder holding the catalog and data.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the catalog database; a SQLite file in the home folder "
        "when unset.",
    )
    versions_to_keep: int = Field(
        default=5, ge=1, description="How many versions of each dataset's rows are kept on disk."
    )
    categories: list[str] = Field(
        default_factory=lambda: list(DEFAULT_CATEGORIES),
        description="The categories a dataset may be filed under.",
    )
    duckdb_memory_limit: str = Field(
        default="2GB", description="Memory DuckDB may use while ingesting or querying."
    )
    duckdb_threads: int | None = Field(
        default=None, description="Threads DuckDB may use; all cores when unset."
    )
    query_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest a query may run before it is stopped."
    )
    soda_default_limit: int = Field(
        default=1000, ge=1, description="Rows a SODA request returns when it gives no $limit."
    )
    soda_max_limit: int = Field(
        default=50_000, ge=1, description="Most rows one SODA request may ask for."
    )
    soda_export_max_rows: int = Field(
        default=1_000_000, ge=1, description="Most rows one SODA 3 query or export may produce."
    )
    soda_max_write_bytes: int = Field(
        default=100_000_000, ge=1, description="Largest body one SODA write may send."
    )
    throttle_per_minute: int = Field(
        default=600, ge=1, description="API calls a minute from one address without an app token."
    )
    throttle_per_minute_with_token: int = Field(
        default=60_000, ge=1, description="API calls a minute with one app token or API key."
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public address of the portal, used in data.json and download links.",
    )
    portal_title: str = Field(default="Connecticut Open Data", description="Shown in data.json.")
    publisher_name: str = Field(
        default="State of Connecticut",
        description="Publisher named in data.json for datasets with no agency.",
    )
    contact_name: str = Field(
        default="Open Data Team",
        description="Contact named in data.json for datasets that name none.",
    )
    contact_email: str = Field(default="opendata@example.gov", description="Email of that contact.")
    retirement_notice_days: int = Field(
        default=30,
        ge=0,
        description="Days a retiring dataset carries its notice before it leaves public lists.",
    )
    overdue_grace_days: int = Field(
        default=90,
        ge=0,
        description="Days overdue after which the agency is told to update or retire a dataset.",
    )
    max_request_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Largest body a form or JSON call may send (SODA writes have their own).",
    )
    session_hours: float = Field(
        default=12.0, gt=0, description="Longest a web sign-in lasts before signing in again."
    )
    session_idle_minutes: float = Field(
        default=60.0, gt=0, description="A web sign-in unused this long ends."
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Send the sign-in cookie over HTTPS only; when unset, only if the request "
        "came over HTTPS.",
    )
    sign_in_attempts: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins for one user name in 15 minutes before "
        "that name is locked for the rest of the 15 minutes.",
    )
    drafts_need_approval: bool = Field(
        default=True,
        description="A new dataset, or a metadata change to a published one, made by a publisher "
        "waits for the agency's data officer.",
    )
    suggestions_per_hour: int = Field(
        default=5, ge=1, description="Dataset suggestions one sender may make in an hour."
    )
    feed_timezone: str = Field(
        default="America/New_York",
        description="Time zone in which feed schedules (cron) are read.",
    )
    feed_folder_root: Path | None = Field(
        default=None,
        description="The only folder under which folder feeds may read; `drop` in the home "
        "folder when unset.",
    )
    feed_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names, addresses and networks (CIDR) on the server's own or private "
        "network that feeds may read from; public addresses need no entry.",
    )
    feed_databases: dict[str, str] = Field(
        default_factory=dict,
        description="The databases SQL feeds may query: a name for each, and its SQLAlchemy URL.",
    )
    feed_timeout_seconds: float = Field(
        default=120.0, gt=0, description="Longest a feed's source may take to answer."
    )
    feed_max_attempts: int = Field(
        default=4, ge=1, description="Tries of one scheduled feed run before waiting for the next."
    )
    feed_retry_minutes: float = Field(
        default=5.0, gt=0, description="Wait before a failed feed's first retry; doubled each time."
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for email notices; no email is sent when unset."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_from: str = Field(
        default="opendata@example.gov", description="Sender address of email notices."
    )
    smtp_starttls: bool = Field(
        default=False, description="Upgrade the SMTP connection with STARTTLS before sending."
    )
    smtp_username: str | None = Field(default=None, description="SMTP user name, if needed.")
    smtp_password: str | None = Field(default=None, description="SMTP password, if needed.")
    warm_on_start: bool = Field(
        default=True,
        description="Load what the first queries and pages need in the background when the "
        "server starts.",
    )
    metrics_page_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long the metrics dashboard keeps the plan report it worked out; 0: "
        "work it out on every view.",
    )

    @property
    def catalog_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'catalog.sqlite').resolve()}"

    @property
    def drop_root(self) -> Path:
        """Where folder feeds may read from."""
        return self.feed_folder_root or self.home / "drop"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def files_dir(self) -> Path:
        return self.home / "files"

    @property
    def cache_dir(self) -> Path:
        """What can be worked out again from the catalog, kept to save the work."""
        return self.home / "cache"


ENV_NAMES = {
    "home": "STATEDATA_HOME",
    "database_url": "STATEDATA_DATABASE_URL",
    "versions_to_keep": "STATEDATA_VERSIONS_TO_KEEP",
    "categories": "STATEDATA_CATEGORIES",
    "duckdb_memory_limit": "STATEDATA_DUCKDB_MEMORY_LIMIT",
    "duckdb_threads": "STATEDATA_DUCKDB_THREADS",
    "query_timeout_seconds": "STATEDATA_QUERY_TIMEOUT_SECONDS",
    "soda_default_limit": "STATEDATA_SODA_DEFAULT_LIMIT",
    "soda_max_limit": "STATEDATA_SODA_MAX_LIMIT",
    "soda_export_max_rows": "STATEDATA_SODA_EXPORT_MAX_ROWS",
    "soda_max_write_bytes": "STATEDATA_SODA_MAX_WRITE_BYTES",
    "throttle_per_minute": "STATEDATA_THROTTLE_PER_MINUTE",
    "throttle_per_minute_with_token": "STATEDATA_THROTTLE_PER_MINUTE_WITH_TOKEN",
    "base_url": "STATEDATA_BASE_URL",
    "portal_title": "STATEDATA_PORTAL_TITLE",
    "publisher_name": "STATEDATA_PUBLISHER_NAME",
    "contact_name": "STATEDATA_CONTACT_NAME",
    "contact_email": "STATEDATA_CONTACT_EMAIL",
    "retirement_notice_days": "STATEDATA_RETIREMENT_NOTICE_DAYS",
    "overdue_grace_days": "STATEDATA_OVERDUE_GRACE_DAYS",
    "max_request_bytes": "STATEDATA_MAX_REQUEST_BYTES",
    "session_hours": "STATEDATA_SESSION_HOURS",
    "session_idle_minutes": "STATEDATA_SESSION_IDLE_MINUTES",
    "cookie_secure": "STATEDATA_COOKIE_SECURE",
    "sign_in_attempts": "STATEDATA_SIGN_IN_ATTEMPTS",
    "drafts_need_approval": "STATEDATA_DRAFTS_NEED_APPROVAL",
    "suggestions_per_hour": "STATEDATA_SUGGESTIONS_PER_HOUR",
    "feed_timezone": "STATEDATA_FEED_TIMEZONE",
    "feed_folder_root": "STATEDATA_FEED_FOLDER_ROOT",
    "feed_allowed_hosts": "STATEDATA_FEED_ALLOWED_HOSTS",
    "feed_databases": "STATEDATA_FEED_DATABASES",
    "feed_timeout_seconds": "STATEDATA_FEED_TIMEOUT_SECONDS",
    "feed_max_attempts": "STATEDATA_FEED_MAX_ATTEMPTS",
    "feed_retry_minutes": "STATEDATA_FEED_RETRY_MINUTES",
    "smtp_host": "STATEDATA_SMTP_HOST",
    "smtp_port": "STATEDATA_SMTP_PORT",
    "smtp_from": "STATEDATA_SMTP_FROM",
    "smtp_starttls": "STATEDATA_SMTP_STARTTLS",
    "smtp_username": "STATEDATA_SMTP_USERNAME",
    "smtp_password": "STATEDATA_SMTP_PASSWORD",
    "warm_on_start": "STATEDATA_WARM_ON_START",
    "metrics_page_seconds": "STATEDATA_METRICS_PAGE_SECONDS",
}


def _json_object(env: str, raw: str) -> object:
    """A setting given as a JSON object in the environment, e.g. {"name": "url"}."""
    try:
        return json.loads(raw)
    except ValueError:
        raise ValueError(
            f'{env} must be a JSON object, e.g. {{"warehouse": "postgresql://..."}}'
        ) from None


def load_settings(home: Path | str | None = None, **overrides: object) -> Settings:
    """Settings for the home folder given (or `STATEDATA_HOME`, or `./statedata-home`)."""
    values: dict[str, object] = {}
    home_path = Path(home or os.environ.get("STATEDATA_HOME") or DEFAULT_HOME)
    config_file = home_path / "statedata.toml"
    if config_file.exists():
        values.update(tomllib.loads(config_file.read_text(encoding="utf-8")))
    for name, env in ENV_NAMES.items():
        raw = os.environ.get(env)
        if raw is None or raw == "":
            continue
        values[name] = (
            [c.strip() for c in raw.split(";") if c.strip()]
            if name in ("categories", "feed_allowed_hosts")
            else _json_object(env, raw)
            if name == "feed_databases"
            else raw
        )
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["home"] = home_path
    return Settings.model_validate(values)
