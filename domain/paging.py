"""Paging the lists share: pages of rows for the lists that read columns (the inbox, the zone's funds to confirm,
finance's items to gather), and the last page shown for a page past it (those lists and a batch's items): a page
past the end would otherwise say that the list is empty."""
from collections.abc import Callable

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


def page_or_last(paginate: Callable[[int], Pagination], page: int) -> Pagination:
    """paginate(page), or the last page if that one is past it: a row's action keeps the page it was on, and the
    last row of the last page may just have left the list."""
    shown = paginate(max(page, 1))
    return paginate(shown.pages) if not shown.items and shown.pages else shown


def row_page(select: sa.Select, count_select: sa.Select, page: int, per_page: int = 50) -> RowPage:
    """One page of `select`'s rows (page_or_last)."""
    return page_or_last(lambda number: RowPage(page=number, per_page=per_page, max_per_page=None, error_out=False,
                                               select=select, count_select=count_select), page)
