"""Where a feed reads from: one class per kind of source (an HTTP(S) file, a drop folder, a SQL
query, another SODA portal, a CKAN portal), each validated with pydantic and each fetching into
a staging file while hashing it, so nothing is held in memory whole.

A source only fetches; reading the file is `ingest.open_table`'s job and publishing the runner's.
What a source may reach is `reach`'s call: every fetch is given the installation's `Reach`, and
every HTTP connection goes through it. Credentials a source holds (a token, a header, an old
feed's database password) are masked by `public()`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from statedata.errors import FeedSourceError
from statedata.ingest.feeds.reach import Reach

MASK = "***"
FETCH_FORMATS = ("csv", "tsv", "json", "ndjson", "geojson", "xlsx", "parquet")
CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/geo+json": "geojson",
    "application/vnd.geo+json": "geojson",
    "application/x-ndjson": "ndjson",
    "application/json": "json",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.apache.parquet": "parquet",
}
SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".geojson": "geojson",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
}
DATASET_ID = re.compile(r"^[a-z0-9]{4}-[a-z0-9]{4}$")
DATABASE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
CHUNK = 1 << 16


@dataclass
class Fetched:
    """A source's content in a staging file: where, its SHA-256 and its format."""

    path: Path
    sha256: str
    format: str
    # For a drop folder: the file taken, to be moved to done/ or failed/ afterwards.
    taken: Path | None = None


class _Hashing:
    """A binary file being written that hashes what passes through it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.handle: IO[bytes] = path.open("wb")

    def write(self, data: bytes) -> None:
        self.digest.update(data)
        self.handle.write(data)

    def close(self) -> str:
        self.handle.close()
        return self.digest.hexdigest()


def mask_url(url: str) -> str:
    """The URL with any password (and any token-like query value) replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user = credentials.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in credentials else f"{user}@{host}"
    query = re.sub(
        r"(?i)((?:password|passwd|pwd|token|secret|key|api_key|apikey)=)[^&]*",
        r"\1" + MASK,
        parts.query,
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _http_url(value: str, field: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{field} must be an http:// or https:// address")
    return value


def _scrub(message: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, MASK)
    return message


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def secrets(self) -> list[str]:
        """Values that must never be shown or logged."""
        return []

    def public(self) -> dict:
        """The source as it may be shown: credentials masked."""
        return self.model_dump()

    def describe(self) -> str:
        raise NotImplementedError

    def fetch(self, staging: Path, timeout: float, reach: Reach) -> Fetched | None:
        """The source's content in a file under `staging`; None when there is nothing new."""
        raise NotImplementedError


def _client(timeout: float, reach: Reach, where: str):  # type: ignore[no-untyped-def]
    """An HTTP client that reaches only what `reach` allows, at every hop of a redirect."""
    import httpcore
    import httpx

    # httpx logs each request's full address at INFO, and an address may carry a token.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)

    class CheckedBackend(httpcore.SyncBackend):
        """Connects only to addresses checked after resolving the host, so the address used
        is the address checked (a DNS answer that changes in between gains nothing)."""

        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]
            failure: Exception | None = None
            for address in reach.addresses(host, port, where):
                try:
                    return super().connect_tcp(
                        address, port, timeout, local_address, socket_options
                    )
                except httpcore.ConnectError as error:
                    failure = error
            raise failure or httpcore.ConnectError(f"no address for {host}")

    def check_hop(request: httpx.Request) -> None:
        # Also through a proxy (which resolves the host itself), and for every redirect.
        url = request.url
        reach.addresses(url.host, url.port or (443 if url.scheme == "https" else 80), where)

    transport = httpx.HTTPTransport()
    # httpx has no public way to choose how its connections are opened; its pool (httpcore)
    # takes a network backend, so the pool is made here with ours.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(), network_backend=CheckedBackend()
    )
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        follow_redirects=True,
        transport=transport,
        event_hooks={"request": [check_hop]},
    )


def _http_failure(error: Exception, where: str, timeout: float) -> FeedSourceError:
    import httpx

    if isinstance(error, httpx.TimeoutException):
        return FeedSourceError(
            f"{where} did not answer within {timeout:g} seconds (too slow). It is retried later."
        )
    if isinstance(error, httpx.HTTPStatusError):
        status = error.response.status_code
        meaning = {
            401: "asks for credentials",
            403: "refused access",
            404: "has nothing at this address",
            429: "says too many requests",
        }.get(status, "had an error on its side" if status >= 500 else "refused the request")
        return FeedSourceError(f"{where} {meaning} (HTTP {status}).", http_status=status)
    if isinstance(error, httpx.TransportError):
        return FeedSourceError(
            f"{where} could not be reached: it may be down ({type(error).__name__})."
        )
    return FeedSourceError(f"{where} could not be read ({type(error).__name__}).")


def _looks_like_html(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    return text.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def _download(
    url: str,
    staging: Path,
    timeout: float,
    declared: str | None,
    where: str,
    reach: Reach,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """Stream `url` into a staging file, hashing it; refuse a web page where data was meant."""
    import httpx

    deadline = time.monotonic() + timeout * 4
    target = staging / "download"
    out = _Hashing(target)
    content_type = ""
    try:
        with (
            _client(timeout, reach, where) as client,
            client.stream("GET", url, headers=headers or {}) as answer,
        ):
            answer.raise_for_status()
            content_type = answer.headers.get("content-type", "").split(";")[0].strip().lower()
            for chunk in answer.iter_bytes(CHUNK):
                out.write(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the whole download took too long")
    except httpx.HTTPError as error:
        out.close()
        raise _http_failure(error, where, timeout) from None
    except BaseException:
        out.close()
        raise
    digest = out.close()
    with target.open("rb") as handle:
        head = handle.read(4096)
    if content_type == "text/html" or _looks_like_html(head):
        raise FeedSourceError(
            f"{where} sent a web page (HTML) instead of data. The address may have moved, or "
            "need a sign-in; check it in a browser."
        )
    fmt = (
        declared
        or CONTENT_TYPES.get(content_type)
        or SUFFIXES.get(Path(urlsplit(url).path).suffix.lower())
    )
    if fmt is None:
        fmt = "json" if head.lstrip()[:1] in (b"{", b"[") else "csv"
    if fmt == "json" and b'"FeatureCollection"' in head:
        fmt = "geojson"
    named = target.with_suffix("." + fmt)
    target.rename(named)
    return Fetched(named, digest, fmt)


class HttpSource(_Base):
    """A file at an HTTP(S) address: CSV, TSV, JSON, NDJSON, GeoJSON, Excel or Parquet."""

    kind: Literal["http"] = "http"
    url: str = Field(max_length=2000)
    format: Literal["csv", "tsv", "json", "ndjson", "geojson", "xlsx", "parquet"] | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, "url")

    def secrets(self) -> list[str]:
        found = list(self.headers.values())
        password = urlsplit(self.url).password
        return [*found, password] if password else found

    def public(self) -> dict:
        shown = self.model_dump()
        shown["url"] = mask_url(self.url)
        shown["headers"] = {k: MASK for k in self.headers}
        return shown

    def describe(self) -> str:
        return mask_url(self.url)

    def fetch(self, staging: Path, timeout: float, reach: Reach) -> Fetched:
        return _download(
            self.url, staging, timeout, self.format, "The source address", reach, self.headers
        )


class FolderSource(_Base):
    """A folder files are dropped into: each new file matching `pattern` is taken once, then
    moved into `done/` (or `failed/`, with the error beside it)."""

    kind: Literal["folder"] = "folder"
    path: str = Field(min_length=1, max_length=1000)
    pattern: str = Field(default="*.csv", min_length=1, max_length=200)
    format: Literal["csv", "tsv", "json", "ndjson", "geojson", "xlsx", "parquet"] | None = None

    @field_validator("path")
    @classmethod
    def _folder(cls, value: str) -> str:
        folder = Path(value).expanduser()
        if not folder.is_absolute():
            raise ValueError("path must be an absolute folder path")
        if not folder.is_dir():
            raise ValueError(f"there is no folder at {value}")
        return str(folder)

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        if "/" in value or "\\" in value or ".." in value:
            raise ValueError("pattern matches file names in the folder itself, e.g. *.csv")
        return value

    def describe(self) -> str:
        return str(Path(self.path) / self.pattern)

    def pending(self) -> list[Path]:
        """Files waiting, oldest first. A symlink is never taken: it could point anywhere on
        the server's disk."""
        folder = Path(self.path)
        found = [
            p
            for p in folder.glob(self.pattern)
            if not p.is_symlink() and p.is_file() and not p.name.startswith(".")
        ]
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    def fetch(self, staging: Path, timeout: float, reach: Reach) -> Fetched | None:
        reach.check_folder(self.path)
        waiting = self.pending()
        if not waiting:
            return None
        taken = waiting[0]
        fmt = self.format or SUFFIXES.get(taken.suffix.lower()) or "csv"
        target = staging / f"dropped.{fmt}"
        try:
            # O_NOFOLLOW: a file swapped for a symlink since it was listed is not followed.
            descriptor = os.open(taken, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            raise FeedSourceError(
                f"The dropped file {taken.name} could not be opened (it may be a link to "
                "another place, which folder feeds do not follow)."
            ) from None
        out = _Hashing(target)
        with os.fdopen(descriptor, "rb") as handle:
            while block := handle.read(CHUNK):
                out.write(block)
        return Fetched(target, out.close(), fmt, taken=taken)

    def settle(self, taken: Path, error: str | None) -> Path:
        """Move a taken file into done/ or failed/ (with its error), never over another."""
        folder = Path(self.path) / ("failed" if error else "done")
        if folder.is_symlink():
            raise OSError(f"{folder.name}/ is a link to another place; files are not moved there")
        folder.mkdir(exist_ok=True)
        target = folder / taken.name
        number = 1
        while target.exists():
            target = folder / f"{taken.stem}.{number}{taken.suffix}"
            number += 1
        shutil.move(str(taken), target)
        if error:
            target.with_name(target.name + ".error.txt").write_text(error + "\n", encoding="utf-8")
        return target


class SqlSource(_Base):
    """A query against one of the databases the operator configured (`feed_databases`),
    named by `database`, streamed to a CSV file.

    The database's address and password stay in the operator's settings, never in a feed.
    Feeds made before carry `database_url` instead; they are still read and shown, and run
    only while that address is one the operator configured."""

    kind: Literal["sql"] = "sql"
    database: str | None = Field(default=None, min_length=1, max_length=64)
    database_url: str | None = Field(default=None, min_length=1, max_length=2000)
    query: str = Field(min_length=1, max_length=100_000)

    @field_validator("database")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        if value is not None and not DATABASE_NAME.match(value):
            raise ValueError(
                "database is the name of a database the operator configured, e.g. warehouse"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        if value is None:
            return None
        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                "database_url is not a SQLAlchemy URL, e.g. postgresql://user:pass@host/db"
            ) from None
        return value

    @model_validator(mode="after")
    def _one_database(self) -> SqlSource:
        if (self.database is None) == (self.database_url is None):
            raise ValueError("database: name the database to query (one the operator configured)")
        return self

    @field_validator("query")
    @classmethod
    def _select(cls, value: str) -> str:
        if not re.match(r"(?is)^\s*(select|with)\b", value):
            raise ValueError("query must be a SELECT (or WITH ... SELECT) statement")
        return value.strip()

    def _masked_url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)

    def secrets(self) -> list[str]:
        from sqlalchemy.engine import make_url

        if self.database_url is None:
            return []
        password = make_url(self.database_url).password
        return [str(password)] if password else []

    def public(self) -> dict:
        shown = self.model_dump(exclude_none=True)
        if self.database_url is not None:
            shown["database_url"] = self._masked_url()
        return shown

    def describe(self) -> str:
        if self.database is not None:
            return f"database {self.database}"
        return self._masked_url()

    def fetch(self, staging: Path, timeout: float, reach: Reach) -> Fetched:
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        if self.database is not None:
            url = reach.database_url(self.database)
            where = self.database
        else:
            url = reach.legacy_database_url(str(self.database_url))
            where = self._masked_url()
        password = make_url(url).password
        secret_values = [*self.secrets(), str(password)] if password else self.secrets()
        target = staging / "query.csv"
        out = _Hashing(target)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")

        def flush() -> None:
            out.write(text.getvalue().encode("utf-8"))
            text.seek(0)
            text.truncate()

        engine = None
        try:
            engine = sa.create_engine(_with_driver(url))
            with engine.connect() as connection:
                result = connection.execution_options(stream_results=True, yield_per=5000).execute(
                    sa.text(self.query)
                )
                writer.writerow(result.keys())
                while rows := result.fetchmany(5000):
                    writer.writerows(["" if v is None else v for v in row] for row in rows)
                    flush()
                flush()
        except ImportError as error:
            out.close()
            raise FeedSourceError(
                f"No driver for this kind of database is installed ({error.name}).",
                database=where,
            ) from None
        except sa.exc.SQLAlchemyError as error:
            out.close()
            detail = _scrub(
                str(getattr(error, "orig", None) or error).split("\n")[0], secret_values
            )
            raise FeedSourceError(f"The database query failed: {detail}", database=where) from None
        finally:
            if engine is not None:
                engine.dispose()
        return Fetched(target, out.close(), "csv")


def _with_driver(url: str) -> str:
    """PostgreSQL through psycopg 3, the driver statedata ships with."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class SodaSource(_Base):
    """Another SODA portal's dataset, read page by page ($limit/$offset ordered by :id)."""

    kind: Literal["soda"] = "soda"
    portal: str = Field(max_length=500)
    dataset: str
    format: Literal["json", "csv"] = "csv"
    page_size: int = Field(default=10_000, ge=1, le=50_000)
    app_token: str | None = Field(default=None, max_length=200)

    @field_validator("portal")
    @classmethod
    def _portal(cls, value: str) -> str:
        return _http_url(value, "portal").rstrip("/")

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str) -> str:
        if not DATASET_ID.match(value):
            raise ValueError("dataset must be a SODA id like abcd-1234")
        return value

    def secrets(self) -> list[str]:
        return [self.app_token] if self.app_token else []

    def public(self) -> dict:
        shown = self.model_dump()
        if self.app_token:
            shown["app_token"] = MASK
        return shown

    def describe(self) -> str:
        return f"{self.portal}/resource/{self.dataset}.{self.format}"

    def fetch(self, staging: Path, timeout: float, reach: Reach) -> Fetched:
        import httpx

        where = f"The portal {self.portal}"
        headers = {"X-App-Token": self.app_token} if self.app_token else {}
        target = staging / ("rows.ndjson" if self.format == "json" else "rows.csv")
        out = _Hashing(target)
        url = f"{self.portal}/resource/{self.dataset}.{self.format}"
        offset = 0
        header: list[str] | None = None
        try:
            with _client(timeout, reach, where) as client:
                while True:
                    query = {"$limit": self.page_size, "$offset": offset, "$order": ":id"}
                    answer = client.get(f"{url}?{urlencode(query)}", headers=headers)
                    answer.raise_for_status()
                    if _looks_like_html(answer.content[:4096]):
                        raise FeedSourceError(f"{where} sent a web page instead of data.")
                    count = (
                        self._json_page(answer.content, out, where)
                        if self.format == "json"
                        else self._csv_page(answer.text, out, header)
                    )
                    if self.format == "csv" and header is None:
                        header = next(csv.reader(io.StringIO(answer.text)), [])
                    if count < self.page_size:
                        break
                    offset += count
        except httpx.HTTPError as error:
            out.close()
            raise _http_failure(error, where, timeout) from None
        except BaseException:
            out.close()
            raise
        return Fetched(target, out.close(), "ndjson" if self.format == "json" else "csv")

    @staticmethod
    def _json_page(content: bytes, out: _Hashing, where: str) -> int:
        try:
            rows = json.loads(content)
        except ValueError:
            raise FeedSourceError(f"{where} did not send JSON rows.") from None
        if not isinstance(rows, list):
            raise FeedSourceError(f"{where} did not send a list of rows: {str(rows)[:200]}")
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")
        return len(rows)

    @staticmethod
    def _csv_page(text: str, out: _Hashing, header: list[str] | None) -> int:
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            return 0
        if header is not None and rows[0] != header:
            raise FeedSourceError("The portal's columns changed while its pages were read.")
        body = rows if header is None else rows[1:]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(body)
        out.write(buffer.getvalue().encode("utf-8"))
        return len(rows) - 1


class CkanSource(_Base):
    """A resource of a CKAN portal: its file (found with package_show / resource_show), or
    its DataStore rows page by page (datastore_search)."""

    kind: Literal["ckan"] = "ckan"
    portal: str = Field(max_length=500)
    resource: str = Field(min_length=1, max_length=200, description="Resource id, or its name")
    package: str | None = Field(default=None, max_length=200)
    method: Literal["download", "datastore"] = "download"
    page_size: int = Field(default=10_000, ge=1, le=32_000)
    api_key: str | None = Field(default=None, max_length=500)

    @field_validator("portal")
    @classmethod
    def _portal(cls, value: str) -> str:
        return _http_url(value, "portal").rstrip("/")

    def secrets(self) -> list[str]:
        return [self.api_key] if self.api_key else []

    def public(self) -> dict:
        shown = self.model_dump()
        if self.api_key:
            shown["api_key"] = MASK
        return shown

    def describe(self) -> str:
        package = f"{self.package}/" if self.package else ""
        return f"{self.portal} resource {package}{self.resource}"

    def _action(self, client, name: str, **params: object) -> dict:  # type: ignore[no-untyped-def]
        headers = {"Authorization": self.api_key} if self.api_key else {}
        answer = client.get(f"{self.portal}/api/3/action/{name}", params=params, headers=headers)
        if answer.status_code == 404:
            wanted = params.get("id") or params.get("resource_id")
            thing = name.split("_")[0]
            raise FeedSourceError(f"The CKAN portal {self.portal} has no {thing} '{wanted}'.")
        answer.raise_for_status()
        try:
            body = answer.json()
        except ValueError:
            raise FeedSourceError(
                f"The CKAN portal {self.portal} did not answer {name} with JSON."
            ) from None
        if not isinstance(body, dict) or not body.get("success") or "result" not in body:
            message = (body.get("error") or {}).get("message") if isinstance(body, dict) else None
            raise FeedSourceError(
                f"The CKAN portal {self.portal} refused {name}: {message or 'no result'}."
            )
        return body["result"]

    def _resource(self, client) -> dict:  # type: ignore[no-untyped-def]
        if self.package:
            package = self._action(client, "package_show", id=self.package)
            for resource in package.get("resources", []):
                if self.resource in (resource.get("id"), resource.get("name")):
                    return resource
            raise FeedSourceError(
                f"The CKAN package '{self.package}' has no resource '{self.resource}'."
            )
        return self._action(client, "resource_show", id=self.resource)

    def fetch(self, staging: Path, timeout: float, reach: Reach) -> Fetched:
        import httpx

        where = f"The CKAN portal {self.portal}"
        try:
            with _client(timeout, reach, where) as client:
                resource = self._resource(client)
                if self.method == "datastore":
                    return self._datastore(client, resource["id"], staging)
            url = resource.get("url")
            if not url:
                raise FeedSourceError(f"The CKAN resource '{self.resource}' has no file address.")
            declared = str(resource.get("format") or "").lower() or None
            declared = {"xls": None, "excel": "xlsx"}.get(declared or "", declared)
            if declared not in FETCH_FORMATS:
                declared = None
            return _download(url, staging, timeout, declared, "The CKAN resource's file", reach)
        except httpx.HTTPError as error:
            raise _http_failure(error, where, timeout) from None

    def _datastore(self, client, resource_id: str, staging: Path) -> Fetched:  # type: ignore[no-untyped-def]
        target = staging / "rows.ndjson"
        out = _Hashing(target)
        offset = 0
        while True:
            result = self._action(
                client,
                "datastore_search",
                resource_id=resource_id,
                limit=self.page_size,
                offset=offset,
            )
            records = result.get("records") or []
            for record in records:
                record.pop("_id", None)
                out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
            offset += len(records)
            total = result.get("total")
            if len(records) < self.page_size or (isinstance(total, int) and offset >= total):
                break
        return Fetched(target, out.close(), "ndjson")


Source = Annotated[
    HttpSource | FolderSource | SqlSource | SodaSource | CkanSource, Field(discriminator="kind")
]
SOURCE = TypeAdapter(Source)
KINDS = ("http", "folder", "sql", "soda", "ckan")


def load(
    kind: str, config: dict
) -> HttpSource | FolderSource | SqlSource | SodaSource | CkanSource:
    """A stored source (the feed's `kind` and `source` columns) as its class."""
    return SOURCE.validate_python({**config, "kind": kind})
