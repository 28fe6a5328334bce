"""Paging the lists share: pages of rows for the lists that read columns (the inbox, the zone's funds to confirm,
finance's items to gather), pages of objects for the others (`paginate`), and the last page shown for a page past
it (those lists and a batch's items): a page past the end would otherwise say that the list is empty.

Every page's LIMIT and OFFSET are written into its SQL rather than sent as parameters. PostgreSQL plans a statement
whose LIMIT is a parameter anew on every run (a generic plan cannot know how few rows are wanted), so a list's
query, although prepared once per connection (models/base.py), was still planned on each request, most of the
inbox query's time. Each page number is then its own statement; the first pages, the ones read, stay prepared.
They are written in at execution (`limited`), so that one statement object serves every page: a list whose
statements are built once (the inbox's) is not built, nor its cache key computed, on each request."""
from collections.abc import Callable

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination, SelectPagination

from models import db


_BIGINT = 2**63 - 1
_LIMIT = sa.bindparam("page_limit", type_=sa.Integer, literal_execute=True)
_OFFSET = sa.bindparam("page_offset", type_=sa.Integer, literal_execute=True)


def limited(select: sa.Select) -> sa.Select:
    """`select` as one page of it: the page's LIMIT and OFFSET are written into the SQL when it runs."""
    return select.limit(_LIMIT).offset(_OFFSET)


def _page_params(page: Pagination) -> dict[str, int]:
    if page._query_offset > _BIGINT:  # as a driver refuses such a parameter, and web/errors.py answers 404 for it
        raise OverflowError("a page past any table")
    return {"page_limit": page.per_page, "page_offset": page._query_offset}


class EntityPage(SelectPagination):
    """db.paginate's page of objects, with its LIMIT and OFFSET written into the SQL, and its total counted unless
    the caller knows it."""

    def _query_items(self) -> list:
        return list(self._query_args["session"].execute(limited(self._query_args["select"]), _page_params(self))
                    .unique().scalars())

    def _query_count(self) -> int:
        known = self._query_args["total"]
        return super()._query_count() if known is None else known


def paginate(select: sa.Select, page: int, per_page: int = 50, total: int | None = None) -> EntityPage:
    """db.paginate(select, page=page, per_page=per_page, error_out=False): a page past the last is empty. `total`:
    the number of rows of `select`, where a kept count says it (the registry's 110,000 organisations are not counted
    for each page)."""
    return EntityPage(select=select, session=db.session(), page=page, per_page=per_page, max_per_page=None,
                      error_out=False, total=total)


class RowPage(Pagination):
    """A page of rows: Flask-SQLAlchemy's own pagination, for a select of columns (db.paginate keeps only the
    first column of each row). The select is `limited`; the total is the select given as `count_select`; `params`
    are both statements' other parameters. Pagination's documented way to extend it is this pair of methods
    (SelectPagination is the same with scalars); the version is pinned, and the inbox tests page through 51 rows."""

    def _query_items(self) -> list[sa.Row]:
        params = {**self._query_args["params"], **_page_params(self)}
        return db.session.execute(self._query_args["select"], params).all()

    def _query_count(self) -> int:
        return db.session.execute(self._query_args["count_select"], self._query_args["params"]).scalar() or 0


def page_or_last(page_of: Callable[[int], Pagination], page: int) -> Pagination:
    """page_of(page), or the last page if that one is past it: a row's action keeps the page it was on, and the
    last row of the last page may just have left the list."""
    shown = page_of(max(page, 1))
    return page_of(shown.pages) if not shown.items and shown.pages else shown


def row_page(select: sa.Select, count_select: sa.Select, page: int, per_page: int = 50,
             params: dict | None = None) -> RowPage:
    """One page of the rows of `select`, which is `limited` (page_or_last)."""
    if select._limit_clause is not _LIMIT:  # SQLAlchemy's own attribute (pinned); unlimited, each page shows every row
        raise ValueError("row_page's select is not limited()")
    return page_or_last(lambda number: RowPage(page=number, per_page=per_page, max_per_page=None, error_out=False,
                                               select=select, count_select=count_select, params=params or {}), page)
