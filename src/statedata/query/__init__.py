"""The query engine: SoQL parsed to a tree, checked against a dataset's columns, compiled to
DuckDB SQL with sqlglot and run with a time limit. HTTP lives in `api/`, not here.

    query = parse_request(params, columns_of(version.schema))
    compiled = compile_query(query, version_rows_sql(installation, version))
    result = engine.run(compiled, timeout_seconds=30)
"""

from statedata.query.compile import CompiledQuery, compile_query
from statedata.query.engine import QueryEngine, QueryResult
from statedata.query.errors import QueryError
from statedata.query.request import parse_request
from statedata.query.tree import ColumnInfo, SoqlQuery, columns_of

__all__ = [
    "ColumnInfo",
    "CompiledQuery",
    "QueryEngine",
    "QueryError",
    "QueryResult",
    "SoqlQuery",
    "columns_of",
    "compile_query",
    "parse_request",
]
