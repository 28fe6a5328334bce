"""The startup-fund verbs (启动经费): standards, the fund item of each new organisation, batches and payments.

Like the founding verbs, each public function checks who may act, changes state, writes the audit log and
flushes; the request commits. Fund items and batches carry an optimistic lock (`version`), so two clicks,
two tabs or two finance users cannot record one payment twice.
"""
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, raiseload, selectinload

from models import (
    CENT, MAX_FUND, MIN_FUND, Application, BatchState, DisbursementBatch, FundItem, FundPayment, FundStandard,
    FundState, Organisation, PartyOrgKind, PayeeCheckMethod, PaymentKind, Role, StoredFile, Unit, User, db, utcnow,
)

from . import DomainError, StaleError, bump_version
from . import notices
from .facts import check_date, chinese_date
from .paging import RowPage, limited, page_or_last, paginate, row_page
from .sheets import approval_sheet, capital_amount, file_sheet
from .text import check_text
from .zone_time import local_date, local_today
from .audit import record_event
from .files import store_upload

# *design* defaults (DOMAIN.md): the admin edits them; these seed a new installation.
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


# ---------------------------------------------------------------- standards (经费标准)

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


# ---------------------------------------------------------------- the fund item (启动经费)

def create_fund_item(application: Application, *, actor: User, on: date | None = None) -> FundItem | None:
    """Open the startup fund (启动经费立项) of a just-established organisation at its standard amount."""
    on = on or local_today()  # the zone's date, as on the documents, not the server's
    existing = db.session.scalar(sa.select(FundItem).where(FundItem.organisation_id == application.organisation_id))
    if existing is not None:
        return None  # one fund per organisation, ever (the unique constraint says so too)
    amount = standard_amount(application.requested_kind, on)
    item = FundItem(organisation_id=application.organisation_id, application_id=application.id,
                    party_org_kind=application.requested_kind, established_on=on, standard_amount=amount,
                    amount=amount, state=FundState.PENDING)
    db.session.add(item)
    db.session.flush()
    record_event("fund.create", item, actor, f"{application.organisation.name}启动经费立项，标准{amount}元")
    return item


@dataclass
class FundConfirmation:
    """What confirming a fund would record, for the zone to read before it does (核定前确认)."""
    item: FundItem
    amount: Decimal
    reason: str

    @property
    def capital(self) -> str:
        return capital_amount(self.amount)


def fund_confirmation(item: FundItem, *, actor: User, version: int, amount: Decimal | str | None = None,
                      reason: str = "") -> FundConfirmation:
    """Check a confirmation as confirm_fund will, change nothing, and say what it would record."""
    if actor.role is not Role.ZONE_APPROVER:
        raise DomainError("只有开发区党工委可以核定启动经费")
    _check_version(item, version)
    if item.state is not FundState.PENDING:
        raise DomainError(f"该笔经费已{item.state.label}，无需再核定")
    amount = item.standard_amount if amount in (None, "") else parse_amount(amount)
    if amount != item.standard_amount and not reason.strip():
        raise DomainError(f"核定金额与标准（{item.standard_amount} 元）不同，须填写理由", "reason")
    return FundConfirmation(item, amount, reason.strip()[:300])


def confirm_fund(item: FundItem, *, actor: User, version: int, amount: Decimal | str | None = None,
                 reason: str = "") -> None:
    """Confirm the fund amount (核定启动经费): the standard, or another amount within range with a reason."""
    facts = fund_confirmation(item, actor=actor, version=version, amount=amount, reason=reason)
    item.amount, item.amount_reason = facts.amount, facts.reason
    item.state, item.confirmed_by, item.confirmed_at = FundState.APPROVED, actor, utcnow()
    _bump(item)
    record_event("fund.confirm", item, actor, f"核定{item.organisation.name}启动经费{facts.amount}元",
                 amount=str(facts.amount), reason=item.amount_reason)
    notices.notify(notices.contacts_of(item.organisation_id), f"启动经费已核定 {facts.amount} 元" + (
        "，请填报收款账户" if not item.has_payee else "，财务核验收款账户后拨付"), link=notices.APPLICANT_HOME)


ACCOUNT_NUMBER = re.compile(r"^\d{8,30}$")


@dataclass
class Payee:
    account_name: str
    bank_name: str
    account_number: str


def normalise_payee(payee: Payee) -> Payee:
    """Check the payee's format; spaces typed into the account number are dropped."""
    name, bank = payee.account_name.strip(), payee.bank_name.strip()
    number = re.sub(r"\s+", "", payee.account_number or "")
    if not name or len(name) > 100:
        raise DomainError("请填写开户名（与银行预留的单位名称一致，不超过100个字）", "account_name")
    if not bank or len(bank) > 100:
        raise DomainError("请填写开户行全称，如“中国工商银行通辽分行营业部”", "bank_name")
    if not ACCOUNT_NUMBER.match(number):
        raise DomainError("账号应为8至30位数字（可含空格，保存时去掉），请核对", "account_number")
    return Payee(name, bank, number)


def set_payee(item: FundItem, payee: Payee, *, actor: User, document: tuple[str, bytes] | None = None) -> None:
    """Enter the payee account (填报收款账户), with the bank document if one is given; finance checks it again."""
    if actor.role is not Role.APPLICANT or actor.organisation_id != item.organisation_id:
        raise DomainError("只有本单位联系人可以填报收款账户")
    if not item.payee_editable:
        raise DomainError("经费已进入拨付审批或已拨付，收款账户不能再修改；如需更正请联系财务")
    payee = normalise_payee(payee)
    if document is not None:
        item.payee_document = _bank_document(document, actor)
    item.account_name, item.bank_name, item.account_number = payee.account_name, payee.bank_name, payee.account_number
    # A payee sent back stays so (payee_returned_at) until finance checks it again: the correction is not the check.
    item.payee_checked_by_id, item.payee_checked_at, item.payee_check_method = None, None, None
    item.payee_entered_at = utcnow()
    _bump(item)
    record_event("fund.payee", item, actor, "更正收款账户" if item.payee_returned else "填报收款账户",
                 bank=payee.bank_name, document=item.payee_document_id)


# What a check compares, with the words the form and its refusals use.
PAYEE_FIELDS = {"account_name": "开户名", "bank_name": "开户行", "account_number": "账号"}


def check_payee(item: FundItem, *, actor: User, version: int, method: PayeeCheckMethod | str | None,
                confirmed: Iterable[str] = (), retyped_account: str = "",
                document: tuple[str, bytes] | None = None) -> None:
    """Check the payee account (核验收款账户) and record how: name, bank and account against the bank document
    (开户许可证/银行回单), or name and bank ticked and the account number typed a second time by finance."""
    _require_finance(actor)
    _check_version(item, version)
    if not item.has_payee:
        raise DomainError("该单位尚未填报收款账户，无法核验")
    if item.payee_checked:
        raise DomainError("收款账户已核验，无需重复核验")
    try:
        method = PayeeCheckMethod(method)
    except ValueError:
        method = None
    if method not in (PayeeCheckMethod.DOCUMENT, PayeeCheckMethod.RETYPED):
        raise DomainError("请选择核验方式：对照银行凭证，或再次录入账号", "method")
    if document is not None:
        item.payee_document = _bank_document(document, actor)
    confirmed = set(confirmed)
    wanted = list(PAYEE_FIELDS) if method is PayeeCheckMethod.DOCUMENT else ["account_name", "bank_name"]
    if method is PayeeCheckMethod.DOCUMENT and item.payee_document is None:
        raise DomainError("单位未上传开户许可证或银行回单：请上传凭证后对照核验，或改用再次录入账号", "bank_document")
    if missing := [PAYEE_FIELDS[f] for f in wanted if f not in confirmed]:
        raise DomainError(f"请逐项核对后勾选：{'、'.join(missing)}未勾选。如与凭证不符，请退回单位更正", "confirmed")
    if method is PayeeCheckMethod.RETYPED:
        typed = re.sub(r"\s+", "", retyped_account or "")
        if not typed:
            raise DomainError("请对照单位提供的账户信息再录入一遍账号", "retyped_account")
        if typed != item.account_number:
            raise DomainError("两次录入的账号不一致，未核验。请对照单位提供的账户信息重新录入；如单位填报有误，请退回单位更正",
                              "retyped_account")
    item.payee_checked_by_id, item.payee_checked_at, item.payee_check_method = actor.id, utcnow(), method
    item.payee_returned_at, item.payee_returned_by_id, item.payee_return_reason = None, None, ""
    _bump(item)
    db.session.flush()
    record_event("fund.payee_check", item, actor, f"核验收款账户（{method.label}）", method=method.value,
                 compared=wanted + (["account_number"] if method is PayeeCheckMethod.RETYPED else []),
                 document=item.payee_document_id,
                 sha256=item.payee_document.sha256 if item.payee_document is not None else None)


def return_payee(item: FundItem, *, actor: User, version: int, reason: str) -> DisbursementBatch | None:
    """Send a wrong payee back to the applicant (退回收款账户) with a reason; a draft batch lets the item go. Returns
    the batch it left, if any."""
    _require_finance(actor)
    _check_version(item, version)
    reason = check_text(reason or "", "退回理由", "reason", multiline=True).strip()
    if not reason:
        raise DomainError("请写明退回理由（单位将看到这段话），如：开户名与开户许可证不一致", "reason")
    if len(reason) > 300:
        raise DomainError("退回理由不超过300个字", "reason")
    if not item.has_payee:
        raise DomainError("该单位尚未填报收款账户，无需退回")
    if not item.payee_editable:
        raise DomainError("经费已进入拨付审批或已拨付，收款账户不能再退回")
    left = item.batch
    if left is not None:
        item.batch = None
        _bump(left)
    item.payee_checked_by_id, item.payee_checked_at, item.payee_check_method = None, None, None
    item.payee_returned_at, item.payee_returned_by_id, item.payee_return_reason = utcnow(), actor.id, reason
    _bump(item)
    record_event("fund.payee_return", item, actor, f"退回收款账户：{reason}", reason=reason,
                 batch=left.id if left is not None else None)
    notices.notify(notices.contacts_of(item.organisation_id), f"财务退回了收款账户，请更正后重新保存：{reason}",
                   link=notices.APPLICANT_HOME)
    return left


def _bank_document(document: tuple[str, bytes], actor: User) -> StoredFile:
    filename, data = document
    try:
        return store_upload(filename, data, actor=actor)
    except DomainError as error:
        raise DomainError(error.message, "bank_document") from None


# ---------------------------------------------------------------- batches (拨付批次)

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
    counted = (sa.select(sa.func.count()).select_from(FundItem)
               .join(Organisation, Organisation.id == FundItem.organisation_id).where(*conditions))
    return row_page(limited(_item_rows_select(*conditions)), counted, page, per_page or FUNDABLE_PAGE_SIZE)


def create_batch(items: list[FundItem], *, actor: User, note: str = "", today: date | None = None) -> DisbursementBatch:
    """Open a disbursement batch (新建拨付批次) with the next number of the year, e.g. 2026-BF-003."""
    _require_finance(actor)
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
    _join(batch, items)
    record_event("batch.create", batch, actor, f"新建拨付批次{batch.number}", items=[i.id for i in items])
    return batch


def add_to_batch(batch: DisbursementBatch, items: list[FundItem], *, actor: User, version: int) -> None:
    """Add items to a draft batch (加入批次)."""
    _check_draft(batch, actor, version)
    if not items:
        raise DomainError("请至少勾选一笔已核定的经费", "item_ids")
    _join(batch, items)
    _bump(batch)
    record_event("batch.add", batch, actor, f"{len(items)}笔经费加入批次{batch.number}", items=[i.id for i in items])


def remove_from_batch(batch: DisbursementBatch, item: FundItem, *, actor: User, version: int) -> None:
    """Take an item out of a draft batch (移出批次)."""
    _check_draft(batch, actor, version)
    if item.batch_id != batch.id:
        raise DomainError("该笔经费不在本批次中")
    item.batch = None
    _bump(item)
    _bump(batch)
    record_event("batch.remove", batch, actor, f"{item.organisation.name}移出批次{batch.number}", item=item.id)


def submit_batch(batch: DisbursementBatch, *, actor: User, version: int) -> None:
    """Submit the batch (提交审批) to the zone committee."""
    _check_draft(batch, actor, version)
    if not batch.items:
        raise DomainError("批次中没有经费，不能提交")
    if unchecked := [i.organisation.name for i in batch.items if not i.payee_checked]:
        raise DomainError("以下单位的收款账户尚未核验：" + "、".join(unchecked))
    batch.state, batch.submitted_at = BatchState.SUBMITTED, utcnow()
    # The items' versions move too: a payee edited at this very moment (read as checked above) makes one of
    # the two refuse, instead of an unchecked account slipping into a submitted batch.
    for item in batch.items:
        item.version += 1
    _bump(batch)
    record_event("batch.submit", batch, actor, f"提交拨付批次{batch.number}，合计{batch.total}元")
    notices.notify(notices.with_role(Role.ZONE_APPROVER), f"拨付批次{batch.number}（{len(batch.items)}笔，合计"
                   f"{batch.total}元）已提交，请审批", link=notices.ZONE_FUNDS)


def check_batch_approval(batch: DisbursementBatch, *, actor: User, version: int) -> None:
    """Check that this approval may go ahead (批次审批前确认), changing nothing: the zone reads the facts first."""
    _check_submitted(batch, actor, version, "审批")


def approve_batch(batch: DisbursementBatch, *, actor: User, version: int) -> None:
    """Approve the batch (审批拨付批次) so that finance may pay it, and file its PDF sheet as approved."""
    _check_submitted(batch, actor, version, "审批")
    batch.state, batch.approved_by, batch.approved_at = BatchState.APPROVED, actor, utcnow()
    # Rendered before the version's UPDATE, which holds the batch's row (and, on SQLite, the one write lock of
    # the whole database) until the commit: not for the render's seconds. Of two approvals at once, the second
    # renders in vain and stops at the version.
    pdf = approval_sheet(batch)
    _bump(batch)
    file_sheet(batch, pdf, actor=actor)
    record_event("batch.approve", batch, actor, f"审批同意拨付批次{batch.number}")
    notices.notify(notices.with_role(Role.FINANCE), f"拨付批次{batch.number}已审批同意，请拨付并登记凭证",
                   link=notices.batch_page(batch))


def return_batch(batch: DisbursementBatch, *, actor: User, version: int) -> None:
    """Send a submitted batch back to finance (退回批次) as a draft."""
    _check_submitted(batch, actor, version, "退回")
    batch.state, batch.submitted_at = BatchState.DRAFT, None
    _bump(batch)
    record_event("batch.return", batch, actor, f"退回拨付批次{batch.number}")
    notices.notify(notices.with_role(Role.FINANCE), f"拨付批次{batch.number}被党工委退回，请调整后重新提交",
                   link=notices.batch_page(batch))


def _check_submitted(batch: DisbursementBatch, actor: User, version: int, doing: str) -> None:
    """What the zone's two decisions on a batch both need: the zone, the page's version, a submitted batch."""
    if actor.role is not Role.ZONE_APPROVER:
        raise DomainError(f"只有开发区党工委可以{doing}拨付批次")
    _check_version(batch, version)
    if batch.state is not BatchState.SUBMITTED:
        raise DomainError(f"批次当前为“{batch.state.label}”，不能{doing}")


# ---------------------------------------------------------------- payments (拨付登记)

def record_payment(item: FundItem, *, voucher_number: str, paid_on: date, actor: User, version: int) -> FundPayment:
    """Record the payment (登记拨付) of one item with its voucher number and date."""
    _require_finance(actor)
    voucher_number = _check_voucher(voucher_number, paid_on)
    if item.state is FundState.PAID:
        raise AlreadyPaid(_already_paid(item))
    _check_version(item, version)
    # A batch seen as paid means another request paid this item meanwhile: the version check in _pay says so.
    if item.batch is None or item.batch.state not in (BatchState.APPROVED, BatchState.PAID):
        raise DomainError("只有已审批批次中的经费才能登记拨付")
    _check_paid_after_approval(item.batch, paid_on)
    return _pay(item, voucher_number, paid_on, actor)


def record_batch_payment(batch: DisbursementBatch, *, voucher_number: str, paid_on: date, actor: User,
                         version: int) -> list[FundPayment]:
    """Record the payment of a whole batch (整批登记拨付): every item not yet paid, one voucher."""
    _require_finance(actor)
    voucher_number = _check_voucher(voucher_number, paid_on)
    if batch.state is BatchState.PAID:
        raise AlreadyPaid(f"批次{batch.number}已全部登记拨付，本次未重复登记")
    _check_version(batch, version)
    if batch.state is not BatchState.APPROVED:
        raise DomainError(f"批次当前为“{batch.state.label}”，须经党工委审批后才能登记拨付")
    _check_paid_after_approval(batch, paid_on)
    _bump(batch)  # the race between two whole-batch clicks is decided here
    return [_pay(item, voucher_number, paid_on, actor) for item in batch.items if item.state is FundState.APPROVED]


def reverse_payment(payment: FundPayment, *, reason: str, actor: User, version: int) -> FundPayment:
    """Reverse a payment (冲销拨付): a new ledger row undoes it; the payment itself stays on record."""
    _require_finance(actor)
    item = payment.item
    if payment.kind is not PaymentKind.PAYMENT:
        raise DomainError("冲销记录本身不能再冲销")
    if not reason.strip():
        raise DomainError("冲销须填写理由", "reason")
    reversed_already = db.session.scalar(sa.select(FundPayment.id).where(FundPayment.reverses_id == payment.id))
    if reversed_already is not None:
        raise AlreadyPaid("该笔拨付已冲销，本次未重复冲销")
    _check_version(item, version)
    item.state = FundState.APPROVED
    if item.batch.state is BatchState.PAID:
        item.batch.state = BatchState.APPROVED
        _bump(item.batch)
    _bump(item)
    reversal = FundPayment(item=item, batch_id=payment.batch_id, kind=PaymentKind.REVERSAL, amount=payment.amount,
                           voucher_number=payment.voucher_number, paid_on=local_today(), reverses_id=payment.id,
                           reason=reason.strip()[:300], actor=actor)
    db.session.add(reversal)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except sa.exc.IntegrityError:
        raise AlreadyPaid("该笔拨付已冲销，本次未重复冲销") from None
    record_event("fund.reverse", item, actor, f"冲销拨付（凭证号{payment.voucher_number}）：{reason.strip()}")
    return reversal


class AlreadyPaid(DomainError):
    """The payment (or reversal) was already recorded: this attempt changed nothing."""


# ---------------------------------------------------------------- queries the pages need

@dataclass
class BatchRow:
    batch: DisbursementBatch
    created_by: str
    count: int
    total: Decimal


def batch_rows(state: str = "") -> list[BatchRow]:
    """The batches lists (finance's home, the zone's batches to approve): each batch with its creator's name, and
    its item count and total summed by the database. Loading every batch's items to count them read all ~2,000
    fund items with their organisations on each visit."""
    totals = (sa.select(FundItem.batch_id, sa.func.count(FundItem.id).label("n"),
                        sa.func.sum(FundItem.amount).label("total"))
              .where(FundItem.batch_id.is_not(None)).group_by(FundItem.batch_id).subquery())
    # Of the users, the lists show at most the creator's name (the zone's): a column, rather than the two user
    # objects joined eagerly (each with its unit, organisation and instructor), so a row is two tables', not nine.
    query = (sa.select(DisbursementBatch, User.name, totals.c.n, totals.c.total)
             .join(User, User.id == DisbursementBatch.created_by_id)
             .outerjoin(totals, totals.c.batch_id == DisbursementBatch.id)
             .options(raiseload(DisbursementBatch.created_by), raiseload(DisbursementBatch.approved_by))
             .order_by(DisbursementBatch.year.desc(), DisbursementBatch.serial.desc()))
    if state in BatchState._value2member_map_:
        query = query.where(DisbursementBatch.state == BatchState(state))
    return [BatchRow(batch, created_by, n or 0, _summed(total))
            for batch, created_by, n, total in db.session.execute(query)]


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


def fund_overview() -> list[OverviewRow]:
    """Approved, in batches (not yet paid), and paid, per unit and year of establishment: one aggregate query."""
    year = sa.extract("year", FundItem.established_on).label("year")
    confirmed = FundItem.state.in_([FundState.APPROVED, FundState.PAID])

    def total(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, FundItem.amount), else_=0)), 0)

    rows = db.session.execute(
        sa.select(Unit.name, year, sa.func.count(FundItem.id), total(confirmed),
                  total(sa.and_(FundItem.state == FundState.APPROVED, FundItem.batch_id.is_not(None))),
                  total(FundItem.state == FundState.PAID))
        .select_from(FundItem).join(Organisation, FundItem.organisation_id == Organisation.id)
        .join(Unit, Organisation.unit_id == Unit.id)
        .group_by(Unit.sort_order, Unit.name, year).order_by(year.desc(), Unit.sort_order))
    return [OverviewRow(unit, int(y), n, _summed(a), _summed(b), _summed(p)) for unit, y, n, a, b, p in rows]


# ---------------------------------------------------------------- internals

def _summed(total) -> Decimal:
    """A SUM of amounts as money: SQLite sums NUMERIC as floating point, so it is rounded back to the cent (and an
    empty sum, NULL, is zero)."""
    return Decimal(str(total or 0)).quantize(CENT)


def _require_finance(actor: User) -> None:
    if actor.role is not Role.FINANCE:
        raise DomainError("只有财务人员可以办理经费拨付")


def _check_version(obj: FundItem | DisbursementBatch, version: int) -> None:
    if obj.version != version:
        raise StaleError("该事项已被他人处理或在其他页面修改，页面已更新为最新内容，本次操作未执行。")


def _bump(obj: FundItem | DisbursementBatch) -> None:
    bump_version(obj)


def _check_draft(batch: DisbursementBatch, actor: User, version: int) -> None:
    _require_finance(actor)
    _check_version(batch, version)
    if batch.state is not BatchState.DRAFT:
        raise DomainError(f"批次{batch.number}当前为“{batch.state.label}”，只有草稿批次可以调整")


def _join(batch: DisbursementBatch, items: list[FundItem]) -> None:
    for item in items:
        if item.state is not FundState.APPROVED:
            raise DomainError(f"{item.organisation.name}的经费当前为“{item.state.label}”，不能加入批次")
        if item.payee_returned:
            raise DomainError(f"{item.organisation.name}的收款账户已退回单位更正，须财务重新核验后才能加入批次")
        if item.batch_id is not None and item.batch_id != batch.id:
            raise DomainError(f"{item.organisation.name}的经费已在批次{item.batch.number}中")
        item.batch = batch
        _bump(item)  # two batches grabbing one item: the version decides, the loser is told


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
    _bump(item)  # decided before the ledger row is written
    payment = FundPayment(item=item, batch_id=item.batch_id, kind=PaymentKind.PAYMENT, amount=item.amount,
                          voucher_number=voucher_number, paid_on=paid_on, actor=actor)
    db.session.add(payment)
    batch = item.batch
    if batch.state is BatchState.APPROVED and all(i.state is FundState.PAID for i in batch.items):
        batch.state = BatchState.PAID
    # Every payment bumps its batch too: two requests paying the last two items at once cannot both miss
    # that the batch is now fully paid; the later one is refused and told to look again.
    _bump(batch)
    record_event("fund.pay", item, actor, f"登记拨付{item.amount}元，凭证号{voucher_number}", paid_on=paid_on.isoformat())
    notices.notify(notices.contacts_of(item.organisation_id), f"启动经费 {item.amount} 元已于{chinese_date(paid_on)}"
                   f"拨付（凭证号 {voucher_number}），请留意到账", link=notices.APPLICANT_HOME)
    return payment
