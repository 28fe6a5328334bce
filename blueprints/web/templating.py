"""What the templates get besides their context: filters, the state badges, row URLs, cached rows, the navigation."""
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, url_for
from markupsafe import Markup, escape

from blueprints.nav import nav_context
from domain.pdf import css_string
from models import AppState

from .row_cache import register_row_cache

# Stands for the row's value while url_for_each builds the URL: an id no table reaches.
_ROW_MARKER = 918273645546372819


def url_for_each(endpoint: str, key: str, **values) -> Callable[[int], str]:
    """url_for(endpoint, **values) with the integer `key` (an id, a page number) left open, as a function of its
    value: a list that links each of its rows to one route builds the URL once, and each row's is a string join."""
    url = url_for(endpoint, **values, **{key: _ROW_MARKER})
    head, _, tail = url.partition(str(_ROW_MARKER))
    if url.count(str(_ROW_MARKER)) != 1:  # a search typed as the marker's digits: that list pays for url_for
        return lambda value: url_for(endpoint, **values, **{key: int(value)})
    return lambda value: f"{head}{int(value)}{tail}"


def register_templating(app: Flask) -> None:
    """Give app's templates their filters and globals."""
    tz = ZoneInfo(app.config["DISPLAY_TIMEZONE"])

    @app.template_filter("local")
    def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value else ""

    app.add_template_filter(css_string)  # the PDFs' font names (domain/pdf.py)

    @app.template_filter("filesize")
    def filesize(size: int) -> str:
        if size < 1024:
            return f"{size} 字节"
        return f"{size / 1024:.0f} KB" if size < 1024 * 1024 else f"{size / 1048576:.1f} MB"

    # An application's state as a coloured badge. Built once per state: the lists show one on every row, and a
    # Jinja macro call per row cost more than the rest of the row.
    badges = {state: Markup(f'<span class="badge text-bg-{state.badge}">{escape(state.label)}</span>')
              for state in AppState}
    app.add_template_global(badges.__getitem__, "state_badge")
    app.add_template_global(url_for_each)

    register_row_cache(app)

    app.context_processor(nav_context)
