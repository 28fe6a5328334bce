"""List rows rendered once per content and kept across requests (`cached_rows` in the templates).

The inbox shows fifty rows on every page of every official; rendering them was the largest part of the page's CPU,
and the list page's throughput target (bench/RESULTS.md) is met only with them kept.

What keeps one user's rows from another: a row is a macro (`row` of its template) whose output depends on its
arguments alone: the query's row and flags, never the time, the request or the user. It is kept under those
arguments (and the mount point of its links), so a user is shown a kept row only by asking for that very row,
which the list's query (Application.visible_to) gave them. A row that changes is a new key, rendered anew; the
old one ages out of the ROW_CACHE_SIZE kept per app (per worker), as its filters (the display time zone) are.
tests/test_application_routes.py shows a reviewer no row the zone's list kept, and a changed row changed."""
from collections.abc import Callable
from functools import lru_cache

from flask import Flask, request
from markupsafe import Markup


def register_row_cache(app: Flask) -> None:
    """Give app's templates cached_rows(template): the function that renders (or finds) one row of it."""

    @lru_cache(maxsize=app.config["ROW_CACHE_SIZE"])
    def _row(template: str, script_root: str, args: tuple) -> Markup:
        return app.jinja_env.get_template(template).module.row(*args)

    def cached_rows(template: str) -> Callable[..., Markup]:
        if app.jinja_env.auto_reload:  # debug: an edit of the row shows on the next request
            return app.jinja_env.get_template(template).module.row
        script_root = request.script_root  # once a list, not once a row
        return lambda *args: _row(template, script_root, args)

    app.add_template_global(cached_rows)
