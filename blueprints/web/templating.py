"""What the templates get besides their context: filters, the state badges, cached rows, the navigation."""
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask
from markupsafe import Markup, escape

from blueprints.nav import nav_context
from domain.pdf import css_string
from models import AppState

from .row_cache import register_row_cache

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

    register_row_cache(app)

    app.context_processor(nav_context)
