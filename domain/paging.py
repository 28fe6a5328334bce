"""Pages of rows for the lists that read columns rather than objects (the inbox, the zone's funds to confirm)."""
import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from models import db


class RowPage(Pagination):
    """A page of rows: Flask-SQLAlchemy's own pagination, for a select of columns (db.paginate keeps only the
    first column of each row). The total is the select given as `count_select`. Pagination's documented way to
    extend it is this pair of methods (SelectPagination is the same with scalars); the version is pinned, and the
    inbox tests page through 51 rows."""

    def _query_items(self) -> list[sa.Row]:
        return db.session.execute(self._query_args["select"].limit(self.per_page).offset(self._query_offset)).all()

    def _query_count(self) -> int:
        return db.session.scalar(self._query_args["count_select"]) or 0


def row_page(select: sa.Select, count_select: sa.Select, page: int, per_page: int = 50) -> RowPage:
    """One page of `select`'s rows; a page past the last (its last row was just acted on) shows the last."""
    rows = RowPage(page=max(page, 1), per_page=per_page, max_per_page=None, error_out=False, select=select,
                   count_select=count_select)
    if not rows.items and rows.pages:
        rows = RowPage(page=rows.pages, per_page=per_page, max_per_page=None, error_out=False, select=select,
                       count_select=count_select)
    return rows
