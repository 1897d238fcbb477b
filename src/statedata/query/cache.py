"""A bounded cache of compiled queries.

Compiling is a pure function of the version (its file and schema never change), the request's
SoQL parameters and the settings that shape the SQL; so a compiled query is cached under all of
them. Only SQL is kept, never rows: every request still runs its query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from statedata.query.compile import CompiledQuery


class CompiledCache:
    def __init__(self, capacity: int = 2048) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, CompiledQuery] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compile: Callable[[], CompiledQuery]) -> CompiledQuery:
        """The compiled query under `key`, compiled by `compile` if it is not cached; a
        compile that raises (a bad query) caches nothing."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        compiled = compile()
        with self._lock:
            self._items[key] = compiled
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._items)
