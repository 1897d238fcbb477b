"""The public portal's pages: server-rendered Jinja2 with htmx, one module per kind of page.

Views are thin: they ask `access` what the viewer may see and the parts for the data, then
render a template. `install(app)` adds the pages and the static files to the API's app.
"""

from statedata.web.app import install

__all__ = ["install"]
