"""Startup funds (启动经费): the standards, one fund item per new organisation, batches and payments."""
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .application import Application, PartyOrgKind
from .base import AppendOnly, LabelledEnum, enum_type, utcnow
from .organisation import Organisation
from .stored_file import StoredFile
from .user import User

MIN_FUND = Decimal("1000")
MAX_FUND = Decimal("3000")
CENT = Decimal("0.01")  # money is exact to the fen (分)
Money = sa.Numeric(12, 2)
_IN_RANGE = "amount >= 1000 AND amount <= 3000"


class FundStandard(db.Model):
    """经费标准: the amount for one kind of Party organisation over a span of dates. Rows are never edited in
    place: a new standard closes the previous one, so the history stays."""

    __tablename__ = "fund_standards"
    __table_args__ = (
        sa.CheckConstraint(_IN_RANGE, name="amount_in_range"),
        sa.CheckConstraint("effective_to IS NULL OR effective_to >= effective_from", name="dates_ordered"),
        sa.UniqueConstraint("party_org_kind", "effective_from", name="uq_fund_standards_kind_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    party_org_kind: Mapped[PartyOrgKind] = mapped_column(enum_type(PartyOrgKind, "standard_party_org_kind"))
    amount: Mapped[Decimal] = mapped_column(Money)
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship(lazy="joined")

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


class FundState(LabelledEnum):
    PENDING = "pending", "待核定"
    APPROVED = "approved", "已核定"
    PAID = "paid", "已拨付"

    @property
    def badge(self) -> str:
        return {"pending": "warning", "approved": "primary", "paid": "success"}[self.value]


class BatchState(LabelledEnum):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "待审批"
    APPROVED = "approved", "已审批"
    PAID = "paid", "已拨付"

    @property
    def badge(self) -> str:
        return {"draft": "secondary", "submitted": "info", "approved": "primary", "paid": "success"}[self.value]


class PayeeCheckMethod(LabelledEnum):
    """How finance checked a payee (收款账户核验方式): name, bank and account against the organisation's bank document,
    or the account number typed a second time by finance."""
    DOCUMENT = "document", "对照开户许可证或银行回单"
    RETYPED = "retyped", "财务二次录入账号"
    UNRECORDED = "unrecorded", "未记录（核验记录功能上线前的核验）"


class FundStage(LabelledEnum):
    """Where a fund item is (经费进度): its own state, and once it is in a batch, the batch's. An item in an approved
    batch is not merely 已核定: the money is on its way. The badge shows it, and the fund steps' table
    (domain/funds/steps.py) says from which stage each step may be taken."""
    PENDING = "pending", "待核定"
    APPROVED = "approved", "已核定"
    IN_BATCH = "in_batch", "在批次中"
    BATCH_SUBMITTED = "batch_submitted", "批次待审批"
    BATCH_APPROVED = "batch_approved", "已审批待拨付"
    PAID = "paid", "已拨付"

    @property
    def badge(self) -> str:
        return {"pending": "warning", "approved": "primary", "in_batch": "info", "batch_submitted": "info",
                "batch_approved": "primary", "paid": "success"}[self.value]


# The one rule for an item's stage: its own state, except an approved (unpaid) item in a batch, which takes its
# stage from the batch's state. FundItem.stage reads it on an item, and as SQL in the lists' rows.
_STAGE_OF_STATE = {FundState.PENDING: FundStage.PENDING, FundState.PAID: FundStage.PAID}
STAGE_IN_BATCH = {BatchState.DRAFT: FundStage.IN_BATCH, BatchState.SUBMITTED: FundStage.BATCH_SUBMITTED,
                  BatchState.APPROVED: FundStage.BATCH_APPROVED, BatchState.PAID: FundStage.BATCH_APPROVED}


def fund_stage(state: FundState, batch_state: BatchState | None) -> FundStage:
    """The stage shown for an item in this state, in a batch in this state (None: in no batch)."""
    if state in _STAGE_OF_STATE:
        return _STAGE_OF_STATE[state]
    return FundStage.APPROVED if batch_state is None else STAGE_IN_BATCH[batch_state]


class DisbursementBatch(db.Model):
    """拨付批次: approved fund items that finance pays together, numbered 2026-BF-003 (per year, gapless)."""

    __tablename__ = "disbursement_batches"
    __table_args__ = (
        sa.UniqueConstraint("year", "serial", name="uq_disbursement_batches_year_serial"),
        sa.CheckConstraint("serial > 0", name="serial_positive"),
        sa.CheckConstraint("approved_by_id IS NOT NULL OR state IN ('draft', 'submitted')",
                           name="approved_has_approver"),
        sa.CheckConstraint("sheet_file_id IS NULL OR state IN ('approved', 'paid')",
                           name="sheet_filed_once_approved"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    serial: Mapped[int]
    state: Mapped[BatchState] = mapped_column(enum_type(BatchState, "batch_state"), default=BatchState.DRAFT)
    version: Mapped[int] = mapped_column(default=1)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    # The PDF sheet as the zone approved it (domain/sheets.py): what finance prints and signs. The approval keeps what
    # the sheet says (sheet_data); a task renders it and files the PDF moments later, or says why it could not.
    sheet_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"), unique=True)
    sheet_data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    sheet_error: Mapped[str] = mapped_column(sa.String(300), server_default="")

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="joined")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id], lazy="joined")
    items: Mapped[list["FundItem"]] = relationship(back_populates="batch", order_by="FundItem.id")
    sheet_file: Mapped[StoredFile | None] = relationship()

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    @property
    def number(self) -> str:
        return f"{self.year}-BF-{self.serial:03d}"

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.items), Decimal("0.00"))

    @property
    def sheet_pending(self) -> bool:
        """Approved, and its PDF sheet not filed yet: being rendered, or refused (sheet_error). A batch approved before
        sheets were kept this way has no sheet_data, and its sheet is rendered on download."""
        return self.sheet_file_id is None and self.sheet_data is not None


class FundItem(db.Model):
    """启动经费: the startup fund of one newly established Party organisation. One per organisation, ever."""

    __tablename__ = "fund_items"
    __table_args__ = (
        sa.CheckConstraint(_IN_RANGE, name="amount_in_range"),
        sa.CheckConstraint("standard_amount >= 1000 AND standard_amount <= 3000", name="standard_in_range"),
        sa.CheckConstraint("state = 'pending' OR confirmed_by_id IS NOT NULL", name="confirmed_has_confirmer"),
        sa.CheckConstraint("state <> 'paid' OR batch_id IS NOT NULL", name="paid_in_batch"),
        sa.CheckConstraint("(payee_checked_at IS NULL) = (payee_check_method IS NULL)", name="payee_check_has_method"),
        sa.CheckConstraint("payee_returned_at IS NULL OR payee_checked_at IS NULL", name="returned_payee_unchecked"),
        sa.CheckConstraint("payee_returned_at IS NULL OR batch_id IS NULL", name="returned_payee_not_in_batch"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), unique=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), unique=True)
    party_org_kind: Mapped[PartyOrgKind] = mapped_column(enum_type(PartyOrgKind, "fund_party_org_kind"))
    established_on: Mapped[date] = mapped_column(index=True)
    standard_amount: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    amount_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    state: Mapped[FundState] = mapped_column(enum_type(FundState, "fund_state"), default=FundState.PENDING)
    version: Mapped[int] = mapped_column(default=1)
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None]

    # The payee (收款账户), entered by the applicant and checked by finance.
    account_name: Mapped[str] = mapped_column(sa.String(100), default="")
    bank_name: Mapped[str] = mapped_column(sa.String(100), default="")
    account_number: Mapped[str] = mapped_column(sa.String(30), default="")
    payee_checked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    payee_checked_at: Mapped[datetime | None]
    # What the check compared (核验记录): the method, and the bank document (开户许可证/银行回单) if there is one.
    payee_check_method: Mapped[PayeeCheckMethod | None] = mapped_column(
        enum_type(PayeeCheckMethod, "payee_check_method"))
    payee_document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    payee_entered_at: Mapped[datetime | None]
    # Sent back to the applicant (退回更正): until finance checks it again, the item joins no batch.
    payee_returned_at: Mapped[datetime | None]
    payee_returned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    payee_return_reason: Mapped[str] = mapped_column(sa.String(300), server_default="")

    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("disbursement_batches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    application: Mapped[Application] = relationship()
    batch: Mapped[DisbursementBatch | None] = relationship(back_populates="items")
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    payee_checked_by: Mapped[User | None] = relationship(foreign_keys=[payee_checked_by_id], viewonly=True)
    payee_returned_by: Mapped[User | None] = relationship(foreign_keys=[payee_returned_by_id], viewonly=True)
    payee_document: Mapped[StoredFile | None] = relationship()
    payments: Mapped[list["FundPayment"]] = relationship(
        back_populates="item", order_by="FundPayment.id", viewonly=True)

    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    # Hybrids: the lists select these as columns of their rows (domain/funds/queries.py item_rows), the verbs read them
    # on an item; one definition serves both.
    @hybrid_property
    def has_payee(self) -> bool:
        return bool(self.account_name and self.bank_name and self.account_number)

    @has_payee.inplace.expression
    @classmethod
    def _has_payee_expression(cls):
        return sa.and_(cls.account_name != "", cls.bank_name != "", cls.account_number != "")

    @hybrid_property
    def payee_checked(self) -> bool:
        return self.payee_checked_at is not None

    @payee_checked.inplace.expression
    @classmethod
    def _payee_checked_expression(cls):
        return cls.payee_checked_at.is_not(None)

    @hybrid_property
    def payee_returned(self) -> bool:
        return self.payee_returned_at is not None

    @payee_returned.inplace.expression
    @classmethod
    def _payee_returned_expression(cls):
        return cls.payee_returned_at.is_not(None)

    @property
    def payee_corrected(self) -> bool:
        """Sent back, and entered again since: finance's to check again (已更正待复核)."""
        return (self.payee_returned_at is not None and self.payee_entered_at is not None
                and self.payee_entered_at > self.payee_returned_at)

    @hybrid_property
    def stage(self) -> FundStage:
        return fund_stage(self.state, self.batch.state if self.batch is not None else None)

    @stage.inplace.expression
    @classmethod
    def _stage_expression(cls):
        # fund_stage's tables as a CASE, so that the lists' rows carry the same stage an item's card shows.
        batch_state = (sa.select(DisbursementBatch.state).where(DisbursementBatch.id == cls.batch_id)
                       .scalar_subquery())
        whens = [(cls.state == state, stage.value) for state, stage in _STAGE_OF_STATE.items()]
        whens.append((cls.batch_id.is_(None), FundStage.APPROVED.value))
        whens += [(batch_state == state, stage.value) for state, stage in STAGE_IN_BATCH.items()]
        return sa.type_coerce(sa.case(*whens), enum_type(FundStage, "fund_stage"))


class PaymentKind(LabelledEnum):
    PAYMENT = "payment", "拨付"
    REVERSAL = "reversal", "冲销"


class FundPayment(AppendOnly, db.Model):
    """拨付记录: a payment of a fund item, or the reversal (冲销) of one. Append-only: never edited or deleted."""

    __tablename__ = "fund_payments"
    __table_args__ = (
        sa.CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_names_payment"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fund_item_id: Mapped[int] = mapped_column(sa.ForeignKey("fund_items.id"), index=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("disbursement_batches.id"), index=True)
    kind: Mapped[PaymentKind] = mapped_column(enum_type(PaymentKind, "payment_kind"))
    amount: Mapped[Decimal] = mapped_column(Money)
    voucher_number: Mapped[str] = mapped_column(sa.String(40))
    paid_on: Mapped[date]
    # A payment is reversed at most once (the unique constraint decides a race between two reversals).
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fund_payments.id"), unique=True)
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[FundItem] = relationship(back_populates="payments")
    actor: Mapped[User] = relationship(lazy="joined")
