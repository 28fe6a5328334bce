"""The fund item (启动经费) of each new organisation: opened at its standard, confirmed by the zone, and the
payee (收款账户) the applicant enters and finance checks or sends back."""
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from models import (
    Application, DisbursementBatch, FundItem, FundState, PayeeCheckMethod, Role, StoredFile, User, db, utcnow,
)

from .. import DomainError, bump_version, notices
from ..audit import record_event
from ..files import store_upload
from ..sheets import capital_amount
from ..substitutes import record_acted
from ..text import check_text
from ..zone_time import local_today
from .steps import FUND_ITEM, check_version
from .standards import parse_amount, standard_amount


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
    record_acted("fund.create", item, None, actor, f"{application.organisation.name}启动经费立项，标准{amount}元")
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
    FUND_ITEM.require_role("confirm", actor)
    check_version(item, version)
    FUND_ITEM.require("confirm", item.stage, actor)
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
    bump_version(item)
    record_acted("fund.confirm", item, None, actor, f"核定{item.organisation.name}启动经费{facts.amount}元",
                 amount=str(facts.amount), reason=item.amount_reason)
    notices.notify(notices.contacts_of(item.organisation_id), f"启动经费已核定 {facts.amount} 元" + (
        "，请填报收款账户" if not item.has_payee else "，财务核验收款账户后拨付"), link=notices.fund_panel(item))


# ASCII digits: Python's \d also takes full-width and Arabic-Indic ones, which no bank transfers to.
ACCOUNT_NUMBER = re.compile(r"^\d{8,30}$", re.ASCII)


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
    FUND_ITEM.require_role("set_payee", actor)
    if actor.organisation_id != item.organisation_id:
        raise DomainError("只有本单位联系人可以填报收款账户")
    FUND_ITEM.require("set_payee", item.stage, actor)
    payee = normalise_payee(payee)
    if document is not None:
        item.payee_document = _bank_document(document, actor)
    item.account_name, item.bank_name, item.account_number = payee.account_name, payee.bank_name, payee.account_number
    # A payee sent back stays so (payee_returned_at) until finance checks it again: the correction is not the check.
    item.payee_checked_by_id, item.payee_checked_at, item.payee_check_method = None, None, None
    item.payee_entered_at = utcnow()
    bump_version(item)
    record_event("fund.payee", item, actor, "更正收款账户" if item.payee_returned else "填报收款账户",
                 bank=payee.bank_name, document=item.payee_document_id)
    if item.payee_returned:  # finance sent it back and waits for this correction to check it again
        notices.notify(notices.with_role(Role.FINANCE), f"{item.organisation.name}已更正被退回的收款账户，请复核",
                       link=notices.payee_page(item))


# What a check compares, with the words the form and its refusals use.
PAYEE_FIELDS = {"account_name": "开户名", "bank_name": "开户行", "account_number": "账号"}


def check_payee(item: FundItem, *, actor: User, version: int, method: PayeeCheckMethod | str | None,
                confirmed: Iterable[str] = (), retyped_account: str = "",
                document: tuple[str, bytes] | None = None) -> None:
    """Check the payee account (核验收款账户) and record how: name, bank and account against the bank document
    (开户许可证/银行回单), or name and bank ticked and the account number typed a second time by finance."""
    FUND_ITEM.require_role("check_payee", actor)
    check_version(item, version)
    FUND_ITEM.require("check_payee", item.stage, actor)
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
    bump_version(item)
    db.session.flush()
    record_acted("fund.payee_check", item, None, actor, f"核验收款账户（{method.label}）", method=method.value,
                 compared=wanted + (["account_number"] if method is PayeeCheckMethod.RETYPED else []),
                 document=item.payee_document_id,
                 sha256=item.payee_document.sha256 if item.payee_document is not None else None)


def return_payee(item: FundItem, *, actor: User, version: int, reason: str) -> DisbursementBatch | None:
    """Send a wrong payee back to the applicant (退回收款账户) with a reason; a draft batch lets the item go. Returns
    the batch it left, if any."""
    FUND_ITEM.require_role("return_payee", actor)
    check_version(item, version)
    FUND_ITEM.require("return_payee", item.stage, actor)
    reason = check_text(reason or "", "退回理由", "reason", multiline=True).strip()
    if not reason:
        raise DomainError("请写明退回理由（单位将看到这段话），如：开户名与开户许可证不一致", "reason")
    if len(reason) > 300:
        raise DomainError("退回理由不超过300个字", "reason")
    if not item.has_payee:
        raise DomainError("该单位尚未填报收款账户，无需退回")
    left = item.batch
    if left is not None:
        item.batch = None
        bump_version(left)
    item.payee_checked_by_id, item.payee_checked_at, item.payee_check_method = None, None, None
    item.payee_returned_at, item.payee_returned_by_id, item.payee_return_reason = utcnow(), actor.id, reason
    bump_version(item)
    record_acted("fund.payee_return", item, None, actor, f"退回收款账户：{reason}", reason=reason,
                 batch=left.id if left is not None else None)
    notices.notify(notices.contacts_of(item.organisation_id), f"财务退回了收款账户，请更正后重新保存：{reason}",
                   link=notices.fund_panel(item))
    return left


def _bank_document(document: tuple[str, bytes], actor: User) -> StoredFile:
    filename, data = document
    try:
        return store_upload(filename, data, actor=actor)
    except DomainError as error:
        raise DomainError(error.message, "bank_document") from None
