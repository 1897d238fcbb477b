"""The JSON response used by every route: orjson, with dates as ISO text and any other odd
value (a Decimal) as its text."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse


class JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        # Catalog times are UTC; SQLite hands them back without a zone, so say so.
        return orjson.dumps(content, default=str, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)
