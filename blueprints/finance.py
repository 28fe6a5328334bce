"""Finance: startup-fund disbursement (经费拨付): batches, sheets, payments, the overview.

Every action is a POST. htmx swaps the batch card in place; without JavaScript the same POST redirects.
A refusal answers 422, a second attempt or a stale page 409, each with the card and the reason.
"""
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from domain import DomainError, StaleError
from domain import funds, sheets
from domain.funds import AlreadyPaid, ItemFilter
from domain.reference import unit_choices
from domain.workbooks import csv_bytes
from domain.zone_time import local_today
from models import BatchState, DisbursementBatch, FundItem, FundPayment, FundStage, PayeeCheckMethod, User, db

from . import answer, page_arg, posted_file, posted_ids, render_partial, role_wall, run_verb, send_download
from .forms import EmptyForm, PayeeCheckForm, PayeeReturnForm, PaymentForm, ReversalForm

bp = Blueprint("finance", __name__, url_prefix="/finance")
role_wall(bp)


# The fund templates (finance's, the zone's, the applicant's) ask the steps' tables before they show a button.
@bp.app_template_global()
def can_fund(action: str, stage: FundStage, user: User | None = None) -> bool:
    return funds.FUND_ITEM.allows(action, stage, user)


@bp.app_template_global()
def can_batch(action: str, state: BatchState, user: User | None = None) -> bool:
    return funds.BATCH.allows(action, state, user)


bp.add_app_template_global(sheets.sheet_refusal, "sheet_refusal")


@bp.app_template_global()
def batch_steps(state: BatchState, user: User) -> list:
    return funds.BATCH.steps_from(state, user.role)


def _filter() -> ItemFilter:
    def day(name):
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return None  # an unreadable date filters nothing rather than failing the page
    return ItemFilter(unit_id=request.args.get("unit_id", type=int), date_from=day("date_from"), date_to=day("date_to"))


def _selected_items() -> list[FundItem]:
    ids = posted_ids(request.form.getlist("item_ids"))
    if not ids:
        return []
    return list(db.session.scalars(sa.select(FundItem).where(FundItem.id.in_(ids)).order_by(FundItem.id)))


@bp.get("/")
def home():
    f = _filter()
    batches = funds.batch_page(request.args.get("batches_page", 1, type=int), request.args.get("state", ""))
    return render_template("finance/home.html", fundable=funds.fundable_items(f, page_arg()), f=f, units=unit_choices(),
                           batches=batches, form=EmptyForm())


@bp.post("/batches")
def create_batch():
    made = []
    status, _ = run_verb(lambda: made.append(funds.create_batch(
        _selected_items(), actor=current_user, note=request.form.get("note", ""))), "已新建拨付批次。")
    return redirect(url_for(".batch", batch_id=made[0].id) if status == 200 else url_for(".home"))


@bp.get("/batches/<int:batch_id>")
def batch(batch_id: int):
    return render_partial("finance/batch.html", "finance/_batch_card.html", **_card(batch_id))


@bp.post("/batches/<int:batch_id>/items")
def add_items(batch_id: int):
    batch = _load(batch_id)
    return _act(batch_id, lambda: funds.add_to_batch(batch, _selected_items(), actor=current_user,
                                                     version=_version()), "已加入批次。")


@bp.post("/batches/<int:batch_id>/items/<int:item_id>/remove")
def remove_item(batch_id: int, item_id: int):
    batch, item = _load(batch_id), db.get_or_404(FundItem, item_id)
    return _act(batch_id, lambda: funds.remove_from_batch(batch, item, actor=current_user, version=_version()),
                f"已将{item.organisation.name}移出批次。")


@bp.post("/batches/<int:batch_id>/submit")
def submit_batch(batch_id: int):
    batch = _load(batch_id)
    return _act(batch_id, lambda: funds.submit_batch(batch, actor=current_user, version=_version()),
                "已提交党工委审批。")


@bp.get("/items/<int:item_id>/payee")
def payee(item_id: int):
    """One payee to check (核验收款账户) or send back (退回更正), with the bank document beside it."""
    return _payee_page(db.get_or_404(FundItem, item_id))


@bp.post("/items/<int:item_id>/check-payee")
def check_payee(item_id: int):
    item, form = db.get_or_404(FundItem, item_id), PayeeCheckForm()
    status, _ = run_verb(lambda: funds.check_payee(
        item, actor=current_user, version=_version(), method=request.form.get("method"),
        confirmed=request.form.getlist("confirmed"), retyped_account=form.retyped_account.data or "",
        document=posted_file(form.bank_document)), f"已核验{item.organisation.name}的收款账户。", form, validate=False)
    if status == 422:
        return _payee_page(item, check_form=form, status=422)
    return _back_from_payee(item)


@bp.post("/items/<int:item_id>/return-payee")
def return_payee(item_id: int):
    item, form = db.get_or_404(FundItem, item_id), PayeeReturnForm()
    batch_id = item.batch_id
    status, _ = run_verb(lambda: funds.return_payee(item, actor=current_user, version=_version(),
                                                    reason=form.reason.data or ""),
                         f"已将{item.organisation.name}的收款账户退回单位更正。", form)
    if status == 422:
        return _payee_page(item, return_form=form, status=422)
    if status == 200 and batch_id:
        flash("该笔经费已移出草稿批次，单位更正、财务复核后可再加入批次。", "info")
        return redirect(url_for(".batch", batch_id=batch_id))
    return _back_from_payee(item)


@bp.get("/items/<int:item_id>/bank-document")
def payee_document(item_id: int):
    item = db.get_or_404(FundItem, item_id)
    if item.payee_document is None:
        abort(404)
    file = item.payee_document
    return send_download(file.data, file.filename, fallback=f"bank-document-{item.id}", inline=True)


def _payee_page(item: FundItem, check_form=None, return_form=None, status: int = 200):
    back = dict(page=page_arg(), **_filter().as_args())
    return render_template("finance/payee.html", item=item, back=back, today=local_today(),
                           check_form=check_form or PayeeCheckForm(formdata=None),
                           return_form=return_form or PayeeReturnForm(formdata=None),
                           methods=[m for m in PayeeCheckMethod if m is not PayeeCheckMethod.UNRECORDED],
                           fields=funds.PAYEE_FIELDS, ticked=request.form.getlist("confirmed")), status


def _back_from_payee(item: FundItem):
    """To the batch the item is in, or to the list's page and filters the payee page was opened from (read through
    _filter: url_for would take _anchor, _external or endpoint in the query as its own)."""
    if item.batch_id:
        return redirect(url_for(".batch", batch_id=item.batch_id))
    return redirect(url_for(".home", page=page_arg(), **_filter().as_args()))


@bp.post("/batches/<int:batch_id>/items/<int:item_id>/payment")
def pay_item(batch_id: int, item_id: int):
    item = db.get_or_404(FundItem, item_id)
    if item.batch_id != batch_id:
        abort(404)
    form = PaymentForm()
    return _act(batch_id, lambda: _valid(form) and funds.record_payment(
        item, voucher_number=form.voucher_number.data, paid_on=form.paid_on.data, actor=current_user,
        version=_version()), f"已登记{item.organisation.name}的拨付。", form)


@bp.post("/batches/<int:batch_id>/payment")
def pay_batch(batch_id: int):
    batch, form = _load(batch_id), PaymentForm()
    return _act(batch_id, lambda: _valid(form) and funds.record_batch_payment(
        batch, voucher_number=form.voucher_number.data, paid_on=form.paid_on.data, actor=current_user,
        version=_version()), "已整批登记拨付。", form)


@bp.post("/payments/<int:payment_id>/reverse")
def reverse_payment(payment_id: int):
    payment, form = db.get_or_404(FundPayment, payment_id), ReversalForm()
    return _act(payment.batch_id, lambda: _valid(form) and funds.reverse_payment(
        payment, reason=form.reason.data, actor=current_user, version=_version()), "已冲销该笔拨付。", form)


@bp.get("/batches/<int:batch_id>/sheet.xlsx")
def sheet_xlsx(batch_id: int):
    batch = _load(batch_id)
    return send_download(sheets.batch_xlsx(batch), f"拨付明细表-{batch.number}.xlsx", fallback=f"sheet-{batch.number}")


@bp.get("/batches/<int:batch_id>/sheet.pdf")
def sheet_pdf(batch_id: int):
    batch = db.get_or_404(DisbursementBatch, batch_id)
    if sheets.sheet_refusal(batch) is not None:  # approved, its PDF not filed yet: the batch's page says why
        return redirect(url_for(".batch", batch_id=batch_id))
    pdf = sheets.filed_sheet(batch)
    if pdf is None:  # not approved yet (or before sheets were filed): rendered now, from the items as they are
        pdf = sheets.batch_pdf(_load(batch_id))
    return send_download(pdf, f"拨付明细表-{batch.number}.pdf", fallback=f"sheet-{batch.number}")


@bp.get("/overview")
def overview():
    return render_template("finance/overview.html", rows=funds.fund_overview())


@bp.get("/overview.csv")
def overview_csv():
    header = ["初审单位", "年度", "笔数", "已核定金额", "在批次中未拨付", "已拨付金额"]
    rows = [[r.unit, r.year, r.items, r.approved, r.in_batches, r.paid] for r in funds.fund_overview()]
    return send_download(csv_bytes([header, *rows]), "启动经费总览.csv", fallback="fund-overview",
                         mimetype="text/csv; charset=utf-8")


# ---------------------------------------------------------------- helpers

def _load(batch_id: int):
    batch = funds.load_batch(batch_id)
    if batch is None:
        abort(404)
    return batch


def _version() -> int:
    return request.form.get("version", 0, type=int)


def _valid(form) -> bool:
    if not form.validate():
        field, errors = next((name, f.errors) for name, f in form._fields.items() if f.errors)
        raise DomainError(errors[0], field)
    return True


def _card(batch_id: int, failed_form=None) -> dict:
    # Not _load: the card reads one page of items (batch_view), not all of them with their payments.
    batch = db.get_or_404(DisbursementBatch, batch_id)
    draft = funds.BATCH.allows("add", batch.state)
    # A draft's "add" list: the oldest 50 of the items its filter (unit, dates) shows; an action on the card
    # carries the filter in its URL, so that the card comes back filtered.
    f = _filter()
    return {"batch": batch, "view": funds.batch_view(batch, page_arg()), "form": EmptyForm(),
            "failed_form": failed_form, "today": local_today(), "f": f,
            "addable": funds.fundable_items(f) if draft else None, "units": unit_choices() if draft else None}


def _act(batch_id: int, verb, done: str, form=None):
    """Run one verb, commit, and answer: redirect without htmx, the fresh card with it (409/422 on refusal)."""
    # The verbs validate their own forms (_valid), so that a refusal lands next to the field.
    status, refused = run_verb(verb, done, form, conflicts=(StaleError, AlreadyPaid), validate=False)
    failed = form if refused else None
    # A refusal re-renders the page (or the card) with what was typed, so nothing is lost. Done, a row's action
    # carries its page, and the card's actions the "add" list's filter, to come back to.
    return answer(status, lambda: render_template("finance/_batch_card.html", **_card(batch_id, failed)),
                  lambda: render_template("finance/batch.html", **_card(batch_id, failed)),
                  done=url_for(".batch", batch_id=batch_id, page=page_arg(), **_filter().as_args()))
