"""How a DuckDB storage type is named to users: the SODA 2.1 data type of a column."""

from __future__ import annotations

NUMBER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "REAL",
)


def data_type_of(storage_type: str) -> str:
    upper = storage_type.upper()
    if upper.startswith(NUMBER_TYPES):
        return "number"
    if upper == "BOOLEAN":
        return "checkbox"
    if upper in ("DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"):
        return "floating_timestamp"
    if upper in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return "fixed_timestamp"
    if upper.startswith("GEOMETRY"):
        return "geometry"
    if upper in ("VARCHAR", "TEXT", "UUID", "TIME", "INTERVAL"):
        return "text"
    if upper.startswith(("STRUCT", "MAP")) or upper.endswith("[]") or upper == "JSON":
        return "json"
    return "text"
