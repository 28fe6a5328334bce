"""Payments (拨付登记): one item or a whole approved batch, with voucher and date; reversals (冲销) as new rows."""
from datetime import date

import sqlalchemy as sa

from models import BatchState, DisbursementBatch, FundItem, FundPayment, FundState, PaymentKind, User, db

from .. import DomainError, bump_version, notices
from ..facts import check_date, chinese_date
from ..substitutes import record_acted
from ..zone_time import local_date, local_today
from .steps import BATCH, FUND_ITEM, check_version


def record_payment(item: FundItem, *, voucher_number: str, paid_on: date, actor: User, version: int) -> FundPayment:
    """Record the payment (登记拨付) of one item with its voucher number and date."""
    FUND_ITEM.require_role("pay", actor)
    voucher_number = _check_voucher(voucher_number, paid_on)
    if item.state is FundState.PAID:
        raise AlreadyPaid(_already_paid(item))
    check_version(item, version)
    # A batch seen as paid means another request paid this item meanwhile: the version check in _pay says so.
    FUND_ITEM.require("pay", item.stage, actor)
    _check_paid_after_approval(item.batch, paid_on)
    return _pay(item, voucher_number, paid_on, actor)


def record_batch_payment(batch: DisbursementBatch, *, voucher_number: str, paid_on: date, actor: User,
                         version: int) -> list[FundPayment]:
    """Record the payment of a whole batch (整批登记拨付): every item not yet paid, one voucher."""
    BATCH.require_role("pay", actor)
    voucher_number = _check_voucher(voucher_number, paid_on)
    if batch.state is BatchState.PAID:
        raise AlreadyPaid(f"批次{batch.number}已全部登记拨付，本次未重复登记")
    check_version(batch, version)
    BATCH.require("pay", batch.state, actor, batch.number)
    _check_paid_after_approval(batch, paid_on)
    bump_version(batch)  # the race between two whole-batch clicks is decided here
    return [_pay(item, voucher_number, paid_on, actor) for item in batch.items if FUND_ITEM.allows("pay", item.stage)]


def reverse_payment(payment: FundPayment, *, reason: str, actor: User, version: int) -> FundPayment:
    """Reverse a payment (冲销拨付): a new ledger row undoes it; the payment itself stays on record."""
    FUND_ITEM.require_role("reverse", actor)
    item = payment.item
    if payment.kind is not PaymentKind.PAYMENT:
        raise DomainError("冲销记录本身不能再冲销")
    if not reason.strip():
        raise DomainError("冲销须填写理由", "reason")
    reversed_already = db.session.scalar(sa.select(FundPayment.id).where(FundPayment.reverses_id == payment.id))
    if reversed_already is not None:
        raise AlreadyPaid("该笔拨付已冲销，本次未重复冲销")
    check_version(item, version)
    FUND_ITEM.require("reverse", item.stage, actor)
    item.state = FundState.APPROVED
    back = BATCH.require("reverse", item.batch.state, actor, item.batch.number).target
    if item.batch.state is not back:  # a paid batch is approved again, with this item to pay
        item.batch.state = back
        bump_version(item.batch)
    bump_version(item)
    reversal = FundPayment(item=item, batch_id=payment.batch_id, kind=PaymentKind.REVERSAL, amount=payment.amount,
                           voucher_number=payment.voucher_number, paid_on=local_today(), reverses_id=payment.id,
                           reason=reason.strip()[:300], actor=actor)
    db.session.add(reversal)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise AlreadyPaid("该笔拨付已冲销，本次未重复冲销") from None
    record_acted("fund.reverse", item, None, actor, f"冲销拨付（凭证号{payment.voucher_number}）：{reason.strip()}")
    return reversal


class AlreadyPaid(DomainError):
    """The payment (or reversal) was already recorded: this attempt changed nothing."""


def _check_voucher(voucher_number: str, paid_on: date | None) -> str:
    voucher_number = (voucher_number or "").strip()
    if not voucher_number or len(voucher_number) > 40:
        raise DomainError("请填写凭证号（不超过40个字符）", "voucher_number")
    if paid_on is None:
        raise DomainError("请填写拨付日期", "paid_on")
    return voucher_number


def _check_paid_after_approval(batch: DisbursementBatch, paid_on: date) -> None:
    # Money leaves after the zone approves the batch; an earlier date is a typing slip (a wrong year, say) that
    # would put the payment in the wrong year's accounts.
    check_date(paid_on, "拨付日期", "paid_on",
               after=("批次的审批日期", local_date(batch.approved_at) if batch.approved_at else None))


def _already_paid(item: FundItem) -> str:
    last = next((p for p in reversed(item.payments) if p.kind is PaymentKind.PAYMENT), None)
    detail = f"于 {last.paid_on:%Y-%m-%d} 登记拨付（凭证号 {last.voucher_number}）" if last else "已登记拨付"
    return f"{item.organisation.name}的启动经费已{detail}，本次未重复登记"


def _pay(item: FundItem, voucher_number: str, paid_on: date, actor: User) -> FundPayment:
    item.state = FundState.PAID
    bump_version(item)  # decided before the ledger row is written
    payment = FundPayment(item=item, batch_id=item.batch_id, kind=PaymentKind.PAYMENT, amount=item.amount,
                          voucher_number=voucher_number, paid_on=paid_on, actor=actor)
    db.session.add(payment)
    batch = item.batch
    if BATCH.allows("pay", batch.state) and all(i.state is FundState.PAID for i in batch.items):
        batch.state = BATCH.step("pay").target
    # Every payment bumps its batch too: two requests paying the last two items at once cannot both miss
    # that the batch is now fully paid; the later one is refused and told to look again.
    bump_version(batch)
    record_acted("fund.pay", item, None, actor, f"登记拨付{item.amount}元，凭证号{voucher_number}", paid_on=paid_on.isoformat())
    notices.notify(notices.contacts_of(item.organisation_id), f"启动经费 {item.amount} 元已于{chinese_date(paid_on)}"
                   f"拨付（凭证号 {voucher_number}），请留意到账", link=notices.fund_panel(item))
    return payment
