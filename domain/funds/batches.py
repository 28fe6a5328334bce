"""Disbursement batches (拨付批次): finance gathers approved items, submits them; the zone approves or returns."""
from datetime import date

import sqlalchemy as sa

from models import DisbursementBatch, FundItem, Role, User, db, utcnow

from .. import DomainError, bump_version, notices
from ..sheets import keep_approved_sheet
from ..substitutes import record_acted
from ..text import check_text
from ..zone_time import local_today
from .steps import BATCH, FUND_ITEM, check_version


def create_batch(items: list[FundItem], *, actor: User, note: str = "", today: date | None = None) -> DisbursementBatch:
    """Open a disbursement batch (新建拨付批次) with the next number of the year, e.g. 2026-BF-003."""
    BATCH.require_role("add", actor)
    if not items:
        raise DomainError("请至少勾选一笔已核定的经费", "item_ids")
    note = check_text(note, "备注", "note", multiline=True).strip()[:200]
    year = (today or local_today()).year
    for _ in range(20):
        # Gapless and race-safe: take max + 1; the unique (year, serial) refuses a twin, and we try the next.
        serial = (db.session.scalar(sa.select(sa.func.max(DisbursementBatch.serial))
                                    .where(DisbursementBatch.year == year)) or 0) + 1
        batch = DisbursementBatch(year=year, serial=serial, created_by=actor, note=note)
        try:
            with db.session.begin_nested():
                db.session.add(batch)
                db.session.flush()
            break
        except sa.exc.IntegrityError:
            continue
    else:
        raise DomainError("批次编号分配繁忙，请稍后重试")
    _join(batch, items, actor)
    record_acted("batch.create", batch, None, actor, f"新建拨付批次{batch.number}", items=[i.id for i in items])
    return batch


def add_to_batch(batch: DisbursementBatch, items: list[FundItem], *, actor: User, version: int) -> None:
    """Add items to a draft batch (加入批次)."""
    _check(batch, "add", actor, version)
    if not items:
        raise DomainError("请至少勾选一笔已核定的经费", "item_ids")
    _join(batch, items, actor)
    bump_version(batch)
    record_acted("batch.add", batch, None, actor, f"{len(items)}笔经费加入批次{batch.number}", items=[i.id for i in items])


def remove_from_batch(batch: DisbursementBatch, item: FundItem, *, actor: User, version: int) -> None:
    """Take an item out of a draft batch (移出批次)."""
    _check(batch, "remove", actor, version)
    if item.batch_id != batch.id:
        raise DomainError("该笔经费不在本批次中")
    FUND_ITEM.require("leave", item.stage, actor, item.organisation.name)
    item.batch = None
    bump_version(item)
    bump_version(batch)
    record_acted("batch.remove", batch, None, actor, f"{item.organisation.name}移出批次{batch.number}", item=item.id)


def submit_batch(batch: DisbursementBatch, *, actor: User, version: int) -> None:
    """Submit the batch (提交审批) to the zone committee."""
    step = _check(batch, "submit", actor, version)
    if not batch.items:
        raise DomainError("批次中没有经费，不能提交")
    if unchecked := [i.organisation.name for i in batch.items if not i.payee_checked]:
        raise DomainError("以下单位的收款账户尚未核验：" + "、".join(unchecked))
    batch.state, batch.submitted_at = step.target, utcnow()
    # The items' versions move too: a payee edited at this very moment (read as checked above) makes one of
    # the two refuse, instead of an unchecked account slipping into a submitted batch.
    for item in batch.items:
        item.version += 1
    bump_version(batch)
    record_acted("batch.submit", batch, None, actor, f"提交拨付批次{batch.number}，合计{batch.total}元")
    notices.notify(notices.with_role(Role.ZONE_APPROVER), f"拨付批次{batch.number}（{len(batch.items)}笔，合计"
                   f"{batch.total}元）已提交，请审批", link=notices.ZONE_FUNDS)


def check_batch_approval(batch: DisbursementBatch, *, actor: User, version: int) -> None:
    """Check that this approval may go ahead (批次审批前确认), changing nothing: the zone reads the facts first."""
    _check(batch, "approve", actor, version)


def approve_batch(batch: DisbursementBatch, *, actor: User, version: int) -> None:
    """Approve the batch (审批拨付批次) so that finance may pay it; its PDF sheet, as approved, is filed by a task."""
    step = _check(batch, "approve", actor, version)
    batch.state, batch.approved_by, batch.approved_at = step.target, actor, utcnow()
    keep_approved_sheet(batch)  # before the version's UPDATE: of two approvals at once, the second stops there
    bump_version(batch)
    record_acted("batch.approve", batch, None, actor, f"审批同意拨付批次{batch.number}")
    notices.notify(notices.with_role(Role.FINANCE), f"拨付批次{batch.number}已审批同意，请拨付并登记凭证",
                   link=notices.batch_page(batch))


def return_batch(batch: DisbursementBatch, *, actor: User, version: int) -> None:
    """Send a submitted batch back to finance (退回批次) as a draft."""
    step = _check(batch, "return", actor, version)
    batch.state, batch.submitted_at = step.target, None
    bump_version(batch)
    record_acted("batch.return", batch, None, actor, f"退回拨付批次{batch.number}")
    notices.notify(notices.with_role(Role.FINANCE), f"拨付批次{batch.number}被党工委退回，请调整后重新提交",
                   link=notices.batch_page(batch))


def _check(batch: DisbursementBatch, action: str, actor: User, version: int):
    """What every step on a batch needs first: the role, the page's version, and a state the step starts from."""
    BATCH.require_role(action, actor)
    check_version(batch, version)
    return BATCH.require(action, batch.state, actor, batch.number)


def _join(batch: DisbursementBatch, items: list[FundItem], actor: User) -> None:
    for item in items:
        if item.batch_id == batch.id:
            continue
        if item.batch_id is not None:
            raise DomainError(f"{item.organisation.name}的经费已在批次{item.batch.number}中")
        FUND_ITEM.require("join", item.stage, actor, item.organisation.name)
        if item.payee_returned:
            raise DomainError(f"{item.organisation.name}的收款账户已退回单位更正，须财务重新核验后才能加入批次")
        item.batch = batch
        bump_version(item)  # two batches grabbing one item: the version decides, the loser is told
