"""Plain words for DuckDB types ("a whole number", "a date (YYYY-MM-DD)"), shared by every
reader's error messages. Not a type mapping: Table Schema types are in `tableschema.py`.
"""

from __future__ import annotations

TYPE_WORDS = {
    "BIGINT": "a whole number",
    "INTEGER": "a whole number",
    "DOUBLE": "a number",
    "DECIMAL": "a number",
    "BOOLEAN": "true or false",
    "DATE": "a date (YYYY-MM-DD)",
    "TIMESTAMP": "a date and time",
    "TIME": "a time of day",
}
