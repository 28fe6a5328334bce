"""Fund standards (经费标准): the amount for each kind of organisation over time, and reading typed amounts."""
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from models import CENT, MAX_FUND, MIN_FUND, FundStandard, PartyOrgKind, Role, User, db

from .. import DomainError
from ..audit import record_event


DEFAULT_STANDARDS = {
    PartyOrgKind.JOINT_BRANCH: Decimal("1000"),
    PartyOrgKind.BRANCH: Decimal("2000"),
    PartyOrgKind.BRANCH_COMMITTEE: Decimal("3000"),
    PartyOrgKind.GENERAL_BRANCH: Decimal("3000"),
    PartyOrgKind.PARTY_COMMITTEE: Decimal("3000"),
}
DEFAULT_FROM = date(2020, 1, 1)
RANGE_MESSAGE = "启动经费须在 1000 元至 3000 元之间"


def parse_amount(text: str | Decimal | None, field: str = "amount") -> Decimal:
    """Read a yuan amount typed by a person ("2,500" or "2500.5"); refuse anything outside the range."""
    try:
        amount = Decimal(str(text).replace(",", "").replace("，", "").strip())
    except (InvalidOperation, ValueError):
        raise DomainError("请填写金额（元），如 2500 或 2500.00", field) from None
    if not amount.is_finite():
        raise DomainError("请填写金额（元），如 2500 或 2500.00", field)
    # The range first: quantizing 1e309 to the cent is itself an error (more digits than Decimal's precision).
    if not MIN_FUND <= amount <= MAX_FUND:
        raise DomainError(RANGE_MESSAGE, field)
    if amount != amount.quantize(CENT):
        raise DomainError("金额最多保留两位小数（到分）", field)
    return amount.quantize(CENT)


def ensure_fund_standards() -> int:
    """Seed the default standard (默认经费标准) of each kind that has none; return how many were created."""
    have = set(db.session.scalars(sa.select(FundStandard.party_org_kind).distinct()))
    created = 0
    for kind, amount in DEFAULT_STANDARDS.items():
        if kind not in have:
            db.session.add(FundStandard(party_org_kind=kind, amount=amount, effective_from=DEFAULT_FROM,
                                        note="系统默认标准"))
            created += 1
    db.session.flush()
    return created


def standard_for(kind: PartyOrgKind, on: date) -> FundStandard | None:
    """The standard in effect for this kind of organisation on this day."""
    return db.session.scalar(sa.select(FundStandard).where(
        FundStandard.party_org_kind == kind, FundStandard.effective_from <= on,
        sa.or_(FundStandard.effective_to.is_(None), FundStandard.effective_to >= on),
    ).order_by(FundStandard.effective_from.desc()).limit(1))


def standard_amount(kind: PartyOrgKind, on: date) -> Decimal:
    standard = standard_for(kind, on)
    # An installation nobody has configured yet still creates fund items, at the documented default.
    return standard.amount if standard is not None else DEFAULT_STANDARDS[kind]


def set_fund_standard(kind: PartyOrgKind, amount: Decimal, effective_from: date, *, actor: User,
                      note: str = "") -> FundStandard:
    """Set a new fund standard (调整经费标准) from a date; the one it replaces ends the day before."""
    if actor.role is not Role.ADMIN:
        raise DomainError("只有系统管理员可以调整经费标准")
    amount = parse_amount(amount)
    same_day = db.session.scalar(sa.select(FundStandard).where(
        FundStandard.party_org_kind == kind, FundStandard.effective_from == effective_from))
    if same_day is not None:
        raise DomainError(f"{kind.label}自 {effective_from:%Y-%m-%d} 起已有标准 {same_day.amount} 元，请另选生效日期",
                          "effective_from")
    previous = standard_for(kind, effective_from)
    following = db.session.scalar(sa.select(FundStandard).where(
        FundStandard.party_org_kind == kind, FundStandard.effective_from > effective_from,
    ).order_by(FundStandard.effective_from).limit(1))
    standard = FundStandard(party_org_kind=kind, amount=amount, effective_from=effective_from, created_by=actor,
                            effective_to=following.effective_from - timedelta(days=1) if following else None,
                            note=note.strip()[:200])
    if previous is not None:
        previous.effective_to = effective_from - timedelta(days=1)
    db.session.add(standard)
    db.session.flush()
    record_event("fund_standard.set", standard, actor, f"{kind.label}经费标准自{effective_from}起为{amount}元",
                 amount=str(amount), effective_from=effective_from.isoformat())
    return standard


def standards_history() -> list[FundStandard]:
    return list(db.session.scalars(sa.select(FundStandard).order_by(
        FundStandard.party_org_kind, FundStandard.effective_from.desc())))
