"""The server's warm-up (`warm_on_start`): what the first map would wait for is loaded in the
background right after start, and queries asked meanwhile are still answered."""

from __future__ import annotations

import threading

import httpx

from statedata.query import QueryEngine
from statedata.query.compile import CompiledQuery

SPATIAL_LOADED = "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'spatial'"

A_POINT = CompiledQuery(
    sql="SELECT ST_AsGeoJSON(ST_Point(-72.68, 41.76))",
    fields=["point"],
    types=["point"],
    needs_spatial=True,
)


def _spatial_loaded(engine: QueryEngine) -> bool:
    con = engine._database.cursor()
    try:
        return bool(con.execute(SPATIAL_LOADED).fetchone()[0])
    finally:
        con.close()


def test_server_loads_the_spatial_extension_before_any_request(installation, serve):
    installation.settings.warm_on_start = True
    server = serve(installation)
    try:
        app = server.server.config.app
        # No request has been made: only the warm-up can have loaded it.
        assert app.state.warmed.wait(timeout=60)
        assert _spatial_loaded(app.state.query_engine)
        assert httpx.get(f"{server.url}/api/v1/health", timeout=30).status_code == 200
    finally:
        server.stop()


def test_without_warm_on_start_nothing_is_loaded_until_needed(installation, serve):
    installation.settings.warm_on_start = False
    server = serve(installation)
    try:
        app = server.server.config.app
        assert httpx.get(f"{server.url}/api/v1/health", timeout=30).status_code == 200
        assert not app.state.warmed.is_set()
        assert not _spatial_loaded(app.state.query_engine)
    finally:
        server.stop()


def test_spatial_queries_asked_during_the_warm_up_are_answered():
    engine = QueryEngine(None)
    try:
        answers: list[list[tuple]] = []
        failures: list[BaseException] = []

        def ask() -> None:
            try:
                answers.append(engine.run(A_POINT, timeout_seconds=60).rows)
            except BaseException as error:  # reported by the assertion below
                failures.append(error)

        threads = [threading.Thread(target=engine.warm)]
        threads += [threading.Thread(target=ask) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert failures == []
        assert len(answers) == 3
        assert all('"Point"' in rows[0][0] for rows in answers)
        assert _spatial_loaded(engine)
    finally:
        engine.close()


def test_closing_the_engine_first_leaves_nothing_to_warm():
    engine = QueryEngine(None)
    engine.close()
    engine.warm()  # the server stopped before its warm-up thread ran: nothing to do, no error
