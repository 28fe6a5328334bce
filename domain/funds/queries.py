"""What the fund pages read: the lists' rows, a batch's page, the zone's queue, the overview."""
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, raiseload, selectinload

from models import (
    CENT, BatchState, DisbursementBatch, FundItem, FundPayment, FundState, Organisation, Unit, User, db,
)

from ..paging import RowPage, limited, page_or_last, paginate, row_page


@dataclass
class ItemFilter:
    unit_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def as_args(self) -> dict[str, str]:
        """The filter as query arguments, those set only: for the pager, and for a POST to come back to it."""
        args = {"unit_id": self.unit_id, "date_from": self.date_from, "date_to": self.date_to}
        return {name: str(value) for name, value in args.items() if value}


_OLDEST_FIRST = (FundItem.established_on, FundItem.id)


def item_rows(*conditions, order_by=_OLDEST_FIRST) -> list[sa.Row]:
    """Fund items as rows for the lists: the item's own columns, its organisation's and unit's names, and whether
    its payee is entered and checked. Loading each item (with its organisation and that one's unit, joined
    eagerly) built three objects per row, most of the zone's funds page and of finance's home page."""
    return list(db.session.execute(_item_rows_select(*conditions, order_by=order_by)))


def _item_rows_select(*conditions, order_by=_OLDEST_FIRST) -> sa.Select:
    return (sa.select(FundItem.id, FundItem.version, FundItem.state, FundItem.batch_id, FundItem.party_org_kind,
                       FundItem.established_on, FundItem.standard_amount, FundItem.amount, FundItem.amount_reason,
                       FundItem.account_name, FundItem.bank_name, FundItem.account_number,
                       FundItem.has_payee.label("has_payee"), FundItem.payee_checked.label("payee_checked"),
                       FundItem.stage.label("stage"), FundItem.payee_returned.label("payee_returned"),
                       FundItem.payee_check_method, FundItem.payee_return_reason,
                       Organisation.name.label("org_name"), Unit.name.label("unit_name"))
             .join(Organisation, Organisation.id == FundItem.organisation_id)
             .join(Unit, Unit.id == Organisation.unit_id)
             .where(*conditions).order_by(*order_by))


FUNDABLE_PAGE_SIZE = 50


def fundable_items(f: ItemFilter, page: int = 1, per_page: int | None = None) -> RowPage:
    """Approved fund items not yet in any batch: what finance may gather, filtered by unit and date, oldest first,
    50 a page. A page shows 50 checkboxes however many items wait; a batch takes the ones ticked, and a draft
    batch's "add" list (the oldest 50) refills as items join it."""
    conditions = [FundItem.state == FundState.APPROVED, FundItem.batch_id.is_(None)]
    if f.unit_id:
        conditions.append(Organisation.unit_id == f.unit_id)
    if f.date_from:
        conditions.append(FundItem.established_on >= f.date_from)
    if f.date_to:
        conditions.append(FundItem.established_on <= f.date_to)
    counted = sa.select(sa.func.count()).select_from(FundItem).where(*conditions)
    if f.unit_id:  # joined only for the unit: the join alone was most of the count (1,202 lookups at 110,000)
        counted = counted.join(Organisation, Organisation.id == FundItem.organisation_id)
    return row_page(limited(_item_rows_select(*conditions)), counted, page, per_page or FUNDABLE_PAGE_SIZE)


@dataclass
class BatchRow:
    batch: DisbursementBatch
    created_by: str
    count: int
    total: Decimal


BATCH_PAGE_SIZE = 50


def _batch_rows_select(state: str) -> tuple[sa.Select, sa.Select]:
    """The batches, newest first, each with its creator's name and its item count and total, and their count.
    Counted and summed per batch a page shows (from the fund items' batch_id index), not for every batch there is."""
    of_batch = FundItem.batch_id == DisbursementBatch.id
    n = sa.select(sa.func.count(FundItem.id)).where(of_batch).scalar_subquery()
    total = sa.select(sa.func.sum(FundItem.amount)).where(of_batch).scalar_subquery()
    # Of the users, the lists show at most the creator's name (the zone's): a column, rather than the two user
    # objects joined eagerly (each with its unit, organisation and instructor), so a row is two tables', not nine.
    query = (sa.select(DisbursementBatch, User.name, n, total)
             .join(User, User.id == DisbursementBatch.created_by_id)
             .options(raiseload(DisbursementBatch.created_by), raiseload(DisbursementBatch.approved_by))
             .order_by(DisbursementBatch.year.desc(), DisbursementBatch.serial.desc()))
    counted = sa.select(sa.func.count()).select_from(DisbursementBatch)
    if state in BatchState._value2member_map_:
        query, counted = (q.where(DisbursementBatch.state == BatchState(state)) for q in (query, counted))
    return query, counted


def _batch_row(row: sa.Row) -> BatchRow:
    batch, created_by, n, total = row
    return BatchRow(batch, created_by, n or 0, _summed(total))


def batch_rows(state: str = "") -> list[BatchRow]:
    """Every batch (of one state), as the zone's batches to approve list them."""
    return [_batch_row(row) for row in db.session.execute(_batch_rows_select(state)[0])]


def batch_page(page: int, state: str = "") -> RowPage:
    """Finance's batches list, 50 a page: a year of the city's batches is a few hundred."""
    query, counted = _batch_rows_select(state)
    shown = row_page(limited(query), counted, page, BATCH_PAGE_SIZE)
    shown.items = [_batch_row(row) for row in shown.items]
    return shown


def batches_to_approve() -> list[tuple[BatchRow, list[sa.Row]]]:
    """The submitted batches, each with its items: what the zone reads before it approves one."""
    batches = batch_rows(BatchState.SUBMITTED.value)
    if not batches:
        return []
    items = defaultdict(list)
    for item in item_rows(FundItem.batch_id.in_([row.batch.id for row in batches]), order_by=(FundItem.id,)):
        items[item.batch_id].append(item)
    return [(row, items[row.batch.id]) for row in batches]


@dataclass
class BatchView:
    """What the batch page shows: one page of its items, and the count, total and ledger of the whole batch.
    A batch holds up to a few hundred items, each with a form: the page shows them 50 at a time."""
    items: Any  # a Flask-SQLAlchemy pagination of FundItem
    count: int
    total: Decimal
    ledger: list[FundPayment]


BATCH_PAGE_SIZE = 50


def batch_view(batch: DisbursementBatch, page: int = 1) -> BatchView:
    # Each row shows its payment's date and voucher, not who recorded it (the ledger below does): lazyload keeps
    # the payments' users (joined eagerly by default, with their units, organisations and instructors) unread.
    query = (sa.select(FundItem).where(FundItem.batch_id == batch.id)
             .options(selectinload(FundItem.payments).lazyload(FundPayment.actor)).order_by(FundItem.id))
    items = page_or_last(lambda number: paginate(query, number, BATCH_PAGE_SIZE), page)
    total = db.session.scalar(sa.select(sa.func.sum(FundItem.amount)).where(FundItem.batch_id == batch.id))
    ledger = list(db.session.scalars(sa.select(FundPayment).where(FundPayment.batch_id == batch.id)
                                     .options(joinedload(FundPayment.item)).order_by(FundPayment.id)))
    return BatchView(items, items.total or 0, _summed(total), ledger)


def load_batch(batch_id: int) -> DisbursementBatch | None:
    return db.session.scalar(sa.select(DisbursementBatch).where(DisbursementBatch.id == batch_id).options(
        selectinload(DisbursementBatch.items).selectinload(FundItem.payments)))


def pending_funds(page: int = 1, per_page: int = 50) -> RowPage:
    """The fund items waiting for the zone to confirm their amount, oldest first, 50 a page: however far behind
    the zone falls, its page shows 50 forms."""
    waiting = FundItem.state == FundState.PENDING
    counted = sa.select(sa.func.count()).select_from(FundItem).where(waiting)
    return row_page(limited(_item_rows_select(waiting)), counted, page, per_page)


def fund_row(item_id: int) -> sa.Row | None:
    """One item as the lists show it: the row a confirmation swaps in place."""
    return db.session.execute(_item_rows_select(FundItem.id == item_id)).first()


def fund_of(org_id: int) -> FundItem | None:
    return db.session.scalar(sa.select(FundItem).where(FundItem.organisation_id == org_id))


@dataclass
class OverviewRow:
    unit: str
    year: int
    items: int
    approved: Decimal
    in_batches: Decimal
    paid: Decimal


def _fund_totals() -> tuple:
    """Items, and the amounts approved, in batches (not yet paid) and paid: the overview's columns, summed."""
    confirmed = FundItem.state.in_([FundState.APPROVED, FundState.PAID])

    def total(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, FundItem.amount), else_=0)), 0)

    return (sa.func.count(FundItem.id), total(confirmed),
            total(sa.and_(FundItem.state == FundState.APPROVED, FundItem.batch_id.is_not(None))),
            total(FundItem.state == FundState.PAID))


def fund_overview() -> list[OverviewRow]:
    """Approved, in batches (not yet paid), and paid, per unit and year of establishment: one aggregate query."""
    year = sa.extract("year", FundItem.established_on).label("year")
    rows = db.session.execute(
        sa.select(Unit.name, year, *_fund_totals())
        .select_from(FundItem).join(Organisation, FundItem.organisation_id == Organisation.id)
        .join(Unit, Organisation.unit_id == Unit.id)
        .group_by(Unit.sort_order, Unit.name, year).order_by(year.desc(), Unit.sort_order))
    return [OverviewRow(unit, int(y), n, _summed(a), _summed(b), _summed(p)) for unit, y, n, a, b, p in rows]


def fund_totals(unit_id: int | None = None) -> dict:
    """The overview's figures added up, of the zone (the fund items alone, no organisation read) or of one unit."""
    query = sa.select(*_fund_totals()).select_from(FundItem)
    if unit_id is not None:
        query = query.join(Organisation, FundItem.organisation_id == Organisation.id).where(
            Organisation.unit_id == unit_id)
    n, approved, in_batches, paid = db.session.execute(query).one()
    return {"items": n, "approved": _summed(approved), "in_batches": _summed(in_batches), "paid": _summed(paid)}


def _summed(total) -> Decimal:
    """A SUM of amounts as money: SQLite sums NUMERIC as floating point, so it is rounded back to the cent (and an
    empty sum, NULL, is zero)."""
    return Decimal(str(total or 0)).quantize(CENT)
