"""The app factory: one FastAPI app for an installation, its routers and its error mapping."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.orm import configure_mappers

import statedata
from statedata import web
from statedata.access import app_tokens
from statedata.api import (
    accounts,
    agreements,
    authorities,
    catalog,
    data_requests,
    datajson,
    downloads,
    errors,
    feeds,
    freshness,
    health,
    limits,
    metrics,
    notices,
    search,
    soda,
    soda3,
    soda_views,
    suggestions,
    throttle,
    usage,
)
from statedata.api.responses import JSON
from statedata.installation import Installation
from statedata.metrics import UsageCounter
from statedata.query import QueryEngine

log = logging.getLogger(__name__)


def create_app(installation: Installation, usage_flush_seconds: float = 10.0) -> FastAPI:
    counter = UsageCounter(installation.catalog, flush_every=usage_flush_seconds)

    engine = QueryEngine(installation.settings)
    warmed = threading.Event()

    def warm_up() -> None:
        # What the first pages and the first map would otherwise each wait for, once a
        # process or a database: about a second on the first map after a start.
        try:
            configure_mappers()
            engine.warm()
        except Exception:  # each part still loads what it needs on first use
            log.warning("warming up the server failed", exc_info=True)
        finally:
            warmed.set()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        counter.start()
        if installation.settings.warm_on_start:
            # In the background: the server starts at once and answers meanwhile.
            threading.Thread(target=warm_up, name="statedata-warm-up", daemon=True).start()
        yield
        counter.stop()
        engine.close()

    app = FastAPI(
        lifespan=lifespan,
        title="statedata",
        version=statedata.__version__,
        summary="Open data portal API: catalog, downloads and DCAT-US data.json.",
        openapi_url="/api/openapi.json",
        default_response_class=JSON,
        # Swagger UI and ReDoc load their scripts from a CDN, which the portal never uses.
        docs_url=None,
        redoc_url=None,
    )
    app.state.installation = installation
    app.state.usage = counter
    app.state.query_engine = engine
    app.state.warmed = warmed  # set once the warm-up (`warm_on_start`) is over
    errors.install(app)
    usage.install(app, counter)
    settings = installation.settings
    app.state.app_tokens = app_tokens.for_catalog(installation.catalog)
    throttle.install(
        app,
        settings.throttle_per_minute,
        settings.throttle_per_minute_with_token,
        app.state.app_tokens,
    )
    limits.install(app, settings.max_request_bytes, settings.soda_max_write_bytes)
    for module in (
        health,
        accounts,
        catalog,
        downloads,
        datajson,
        soda_views,
        soda,
        soda3,
        data_requests,
        agreements,
        authorities,
        notices,
        suggestions,
        freshness,
        feeds,
        metrics,
        search,
    ):
        app.include_router(module.router)

    @app.get("/api", summary="Where each part of the API lives")
    def api_index() -> dict:
        return {
            "name": installation.settings.portal_title,
            "version": statedata.__version__,
            "links": {
                "datasets": "/api/v1/datasets",
                "agencies": "/api/v1/agencies",
                "health": "/api/v1/health",
                "dcat_us": "/data.json",
                "soda": "/resource/{id}.json",
                "soda_views": "/api/views/{id}.json",
                "discovery": "/api/catalog/v1",
                "search": "/api/v1/search",
                "session": "/api/v1/session",
                "suggestions": "/api/v1/suggestions",
                "data_requests": "/api/v1/data-requests",
                "agreements": "/api/v1/agreements",
                "authorities": "/api/v1/authorities",
                "notices": "/api/v1/notices",
                "freshness": "/api/v1/freshness",
                "priorities": "/api/v1/priorities",
                "data_sharing_metrics": "/api/v1/metrics/data-sharing",
                "openapi": "/api/openapi.json",
            },
        }

    # The portal's pages come last: the dataset address /{category}/{title}/{id} would
    # otherwise catch paths meant for the API.
    web.install(app)
    return app
