"""The catalog's tables: agencies, datasets, their columns, versions, files and the audit log.

Only the shape of the data lives here; reading and changing it is `catalog/service.py`'s job.
Every change to these classes comes with an Alembic migration in `migrations/versions/`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A time read from the catalog, with its zone: SQLite hands back naive times, which were
    written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    pass


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    parent: Mapped[Agency | None] = relationship(remote_side=[id])


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(9), primary_key=True)
    slug: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(100))
    license: Mapped[str | None] = mapped_column(String(300))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    data_provided_by: Mapped[str | None] = mapped_column(String(300))
    source_link: Mapped[str | None] = mapped_column(String(1000))
    related_documents: Mapped[list] = mapped_column(JSON, default=list)
    geographic_unit: Mapped[str | None] = mapped_column(String(40))
    classification: Mapped[str] = mapped_column(String(20), default="public")
    access_level: Mapped[str] = mapped_column(String(20), default="public")
    rights: Mapped[str | None] = mapped_column(Text)
    update_frequency: Mapped[str | None] = mapped_column(String(20))
    high_value_criteria: Mapped[list] = mapped_column(JSON, default=list)
    spatial_coverage: Mapped[str | None] = mapped_column(String(300))
    temporal_coverage_start: Mapped[dt.date | None] = mapped_column(Date)
    temporal_coverage_end: Mapped[dt.date | None] = mapped_column(Date)
    demographic_dimensions: Mapped[list] = mapped_column(JSON, default=list)
    limitations: Mapped[str | None] = mapped_column(Text)
    processing_notes: Mapped[str | None] = mapped_column(Text)
    row_identifier: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    status_reason: Mapped[str | None] = mapped_column(Text)
    # "draft" until the agency's data officer approves it; drafts are seen by the agency only.
    publication_state: Mapped[str] = mapped_column(String(20), default="published", index=True)
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Retirement, as the open data handbook describes it: a notice for a while, then out of
    # public lists (still reachable by id, pointing at `replaced_by`).
    retirement_reason: Mapped[str | None] = mapped_column(String(40))
    retirement_noticed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    retire_after: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    archive_url: Mapped[str | None] = mapped_column(String(1000))
    # Whether a dataset that is not open data may still be listed (metadata only, as DCAT-US
    # inventories list non-public data with their `rights`); its rows stay protected.
    metadata_public: Mapped[bool] = mapped_column(Boolean, default=False)
    # The plan's three duties for every dataset: who owns, who stewards, who keeps it.
    data_owner: Mapped[str | None] = mapped_column(String(200))
    data_steward: Mapped[str | None] = mapped_column(String(200))
    data_custodian: Mapped[str | None] = mapped_column(String(200))
    replaced_by: Mapped[str | None] = mapped_column(String(9))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    metadata_updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )
    data_updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("versions.id", use_alter=True, name="fk_datasets_current_version")
    )

    agency: Mapped[Agency | None] = relationship()
    tags: Mapped[list[DatasetTag]] = relationship(
        cascade="all, delete-orphan", order_by="DatasetTag.tag"
    )
    columns: Mapped[list[Column]] = relationship(
        cascade="all, delete-orphan", order_by="Column.position"
    )
    current_version: Mapped[Version | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    files: Mapped[list[DatasetFile]] = relationship(
        cascade="all, delete-orphan", order_by="DatasetFile.id"
    )

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]


class DatasetTag(Base):
    __tablename__ = "dataset_tags"

    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)


class Column(Base):
    """One column of the data dictionary of a dataset's current version."""

    __tablename__ = "columns"
    __table_args__ = (UniqueConstraint("dataset_id", "field_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    field_name: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(300))
    data_type: Mapped[str] = mapped_column(String(40))
    storage_type: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")


class Version(Base):
    """One immutable set of a dataset's rows, as a Parquet file under the data folder."""

    __tablename__ = "versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(BigInteger)
    byte_size: Mapped[int] = mapped_column(BigInteger)
    checksum: Mapped[str] = mapped_column(String(80))
    schema: Mapped[list] = mapped_column(JSON)
    source: Mapped[str | None] = mapped_column(String(1000))
    mode: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(500))
    max_row_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # Set when the file stores no :id: a row's id is id_base plus its position (1-based).
    id_base: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class DatasetFile(Base):
    """A file (zipped shapefile, PDF, imagery) or a link to an external service of a dataset."""

    __tablename__ = "dataset_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # file | link
    title: Mapped[str] = mapped_column(String(300))
    file_name: Mapped[str | None] = mapped_column(String(300))
    media_type: Mapped[str | None] = mapped_column(String(150))
    byte_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(80))
    path: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """Append-only record of who did what; each entry carries the hash of the one before."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    dataset_id: Mapped[str | None] = mapped_column(String(9), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    previous_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class UsageCount(Base):
    """How often a dataset was used on one day, by kind; no address or identity is kept.

    Not a foreign key: counts outlive the datasets they count.
    """

    __tablename__ = "usage_counts"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    # Indexed on its own: moving one dataset's sums reads its counts alone.
    dataset_id: Mapped[str] = mapped_column(String(9), primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(
        String(20), primary_key=True
    )  # api_call | download | page_view
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageOwner(Base):
    """Where a dataset's usage is summed in `usage_rollups`: its agency (0 for none) and
    whether it is public and listed, as last seen. Moved with its sums, in the same
    transaction, when the dataset's agency or listing changes (metrics/attribution.py), so the
    plan's traffic metrics read a row per agency instead of one per dataset."""

    __tablename__ = "usage_owners"

    dataset_id: Mapped[str] = mapped_column(String(9), primary_key=True)
    agency_id: Mapped[int] = mapped_column(Integer, default=0)
    listed: Mapped[bool] = mapped_column(Boolean, default=False)


class UsageRollup(Base):
    """Usage summed by day ('YYYY-MM-DD') and by month ('YYYY-MM'), kind and owner (agency and
    listing, from `usage_owners`): kept in step by the code that writes the daily counts
    (metrics/usage.py) and by the commit hook that moves a dataset's sums when its owner
    changes. A data story's views are summed under agency 0, listed."""

    __tablename__ = "usage_rollups"

    span: Mapped[str] = mapped_column(String(5), primary_key=True)  # day | month
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    agency_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listed: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class StoredQuality(Base):
    """A dataset's metadata quality points that do not depend on the day (all but "updated
    on schedule"), written whenever its metadata, columns or tags change
    (freshness/stored_quality.py). Used only while its stamp still matches the dataset: its
    metadata time (as the database writes it as text), column, described-column and tag
    counts, whether it names an agency, its frequency and the version of the scoring rules.
    Not a foreign key: a row out of date is scored again, never trusted."""

    __tablename__ = "stored_quality"

    dataset_id: Mapped[str] = mapped_column(String(9), primary_key=True)
    metadata_stamp: Mapped[str] = mapped_column(String(64))
    columns: Mapped[int] = mapped_column(Integer)
    described: Mapped[int] = mapped_column(Integer)
    tags: Mapped[int] = mapped_column(Integer)
    has_agency: Mapped[bool] = mapped_column(Boolean)
    update_frequency: Mapped[str | None] = mapped_column(String(20))
    rules: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    required_complete: Mapped[bool] = mapped_column(Boolean)


class User(Base):
    """Someone who signs in or calls the API with a key: staff of an agency, an analyst, the CDO.

    `role` and `agency` are the user's first membership, kept for display; what a user may do
    in which agency is in `memberships`.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))  # cdo | data_officer | publisher | analyst
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # argon2id; None means the user cannot sign in on the web, only use API keys.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    agency: Mapped[Agency | None] = relationship()
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Membership.id"
    )


class Membership(Base):
    """A user's role in one agency (data officer or publisher); a user may hold several."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "agency_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # data_officer | publisher
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    agency: Mapped[Agency] = relationship()


class WebSession(Base):
    """A signed-in browser: the cookie holds a random token whose SHA-256 is kept here, so a
    session can be ended on the server (sign-out, expiry) and a copied cookie stops working."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class AppToken(Base):
    """A registered Socrata-style app token: it names a client (it is not a secret), and
    calls that send it get the higher throttle limit."""

    __tablename__ = "app_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class MetadataDraft(Base):
    """A proposed change to a published dataset's metadata, waiting for the data officer."""

    __tablename__ = "metadata_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"), index=True)
    changes: Mapped[dict] = mapped_column(JSON)
    proposed_by: Mapped[str] = mapped_column(String(100))
    proposed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(20))  # approved | rejected
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)


class ApiKey(Base):
    """An API key: a public key id and a secret shown once and stored only as a hash."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


# The governance and feed tables share this metadata.
from statedata.catalog import feeds as _feeds  # noqa: E402, F401
from statedata.catalog import sharing as _sharing  # noqa: E402, F401


class CatalogChange(Base):
    """Writes to the tables the plan metrics read (catalog/changes.py), counted by triggers
    that migration 0009 puts on them, so a raw SQL change counts as well as one through the
    catalog, each table apart. SQLite keeps a row per table whose `changes` grows with each row
    written; PostgreSQL adds a row per writing transaction and table (the transaction's id),
    so concurrent writers never wait on one another. Rows are only added, so the sum of a
    table's `changes` grows with every committed write to it."""

    __tablename__ = "catalog_changes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    table_name: Mapped[str] = mapped_column(String(40), primary_key=True)
    changes: Mapped[int] = mapped_column(BigInteger, default=1)
    # Random with each write: a restored catalog written to again gets a mark of its own.
    nonce: Mapped[int] = mapped_column(BigInteger, default=0)


class CatalogDatasetChange(Base):
    """The latest write to each dataset's rows (the dataset, its versions, columns, tags and
    stored quality points), noted by the triggers of migration 0010: a reader that kept an
    earlier reading reads again only the datasets changed since (catalog/changes.py). On
    SQLite `change_number` is the catalog's count of writes just after this one; on
    PostgreSQL it is the writing transaction's id. '*' stands for every dataset (a TRUNCATE)."""

    __tablename__ = "catalog_dataset_changes"

    dataset_id: Mapped[str] = mapped_column(String(9), primary_key=True)
    change_number: Mapped[int] = mapped_column(BigInteger, index=True)
    # Random with each note, below 2**31: see `changes.changed_datasets`.
    nonce: Mapped[int] = mapped_column(BigInteger)
