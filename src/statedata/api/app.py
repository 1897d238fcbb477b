"""The app factory: one FastAPI app for an installation, its routers and its error mapping."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

import statedata
from statedata.api import catalog, datajson, downloads, errors, health, soda_views
from statedata.api.responses import JSON
from statedata.installation import Installation


def create_app(installation: Installation) -> FastAPI:
    app = FastAPI(
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
    errors.install(app)
    for module in (health, catalog, downloads, datajson, soda_views):
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
                "openapi": "/api/openapi.json",
            },
        }

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        # The portal's pages come with the web part; until then the root lists the API.
        return RedirectResponse("/api")

    return app
