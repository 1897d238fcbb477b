"""The one error type of the query engine, carrying Socrata's error codes and where it happened.

Mapping to HTTP bodies is the api's job; this module only says what went wrong.
"""

from __future__ import annotations

from statedata.errors import StatedataError

MALFORMED = "query.compiler.malformed"
NO_SUCH_COLUMN = "query.soql.no-such-column"
TYPE_MISMATCH = "query.soql.type-mismatch"
NO_SUCH_FUNCTION = "query.soql.no-such-function"
NOT_IN_GROUP_BYS = "query.soql.column-not-in-group-bys"
TIMEOUT = "query.execution.timeout"
TOO_MANY_ROWS = "query.too-many-rows"
EXECUTION_FAILED = "query.execution.failed"


class QueryError(StatedataError):
    """A query that cannot be answered as asked. `code` is Socrata's; `status` a 4xx.

    `data` holds `query` (the text of the clause at fault) and `position` ({"line", "column"},
    1-based) where they apply.
    """

    code = MALFORMED
    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        query: str | None = None,
        position: tuple[int, int] | None = None,
        status: int | None = None,
    ) -> None:
        data: dict[str, object] = {}
        if query is not None:
            data["query"] = query
        if position is not None:
            data["position"] = {"line": position[0], "column": position[1]}
        super().__init__(message, **data)
        self.code = code
        if status is not None:
            self.status = status
