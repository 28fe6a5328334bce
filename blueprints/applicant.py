"""The applicant's pages: their own organisation and its applications only."""
import sqlalchemy as sa
from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_login import current_user

from domain.accounts import registration_of
from domain.applications import open_application_of
from domain.funds import Payee, fund_of, set_payee
from models import Application, db

from . import answer, posted_file, role_wall, run_verb, send_download
from .applications import card_page
from .forms import PayeeForm

bp = Blueprint("applicant", __name__, url_prefix="/applicant")
role_wall(bp)


@bp.get("/")
def home():
    return _home()


@bp.post("/fund/payee")
def payee():
    fund = fund_of(current_user.organisation_id)
    if fund is None:
        abort(404)
    form = PayeeForm()
    status, _ = run_verb(lambda: set_payee(
        fund, Payee(form.account_name.data, form.bank_name.data, form.account_number.data), actor=current_user,
        document=posted_file(form.bank_document)), None, form)
    if status == 200:
        # The panel shows its own message (category "payee"), where the user is, not at the top of the page.
        flash("收款账户已保存，财务核验后即可编入拨付批次。", "payee")
    return _payee_answer(fund, form, status, on_card=request.args.get("on") == "card")


def _payee_answer(fund, form: PayeeForm, status: int, on_card: bool):
    """Answer the payee form where it was typed: htmx gets the fund panel back (the error beside its field, what was
    typed kept, or the saved message in the panel); a plain POST from the card (?on=card) comes back to the card at
    #fund, one from the home page to the home page."""
    def panel() -> str:
        # Saved, the form shows what was stored (the account without its spaces), as finance will see it.
        shown = form if status != 200 else PayeeForm(formdata=None, obj=fund)
        return render_template("applicant/_fund.html", fund=fund, on_card=on_card, answering=True, payee_form=shown)
    if on_card:
        return answer(status, panel, lambda: card_page(fund.application, payee_form=form, answering=True,
                                                       refusal_inline=True),
                      done=url_for("applications.show", application_id=fund.application_id, _anchor="fund"))
    return answer(status, panel, lambda: _home(payee_form=form), done=url_for(".home"))


def _home(payee_form: PayeeForm | None = None) -> str:
    """The organisation's page: its applications, its fund and payee form (with what was typed, when refused)."""
    org = current_user.organisation
    applications = db.session.scalars(
        sa.select(Application).where(Application.organisation_id == org.id).order_by(Application.id.desc())).all()
    fund = fund_of(org.id)
    return render_template("applicant/home.html", org=org, current=open_application_of(org),
                           applications=applications, fund=fund, payee_form=payee_form or PayeeForm(obj=fund),
                           review=None if org.verified else registration_of(current_user))


@bp.get("/fund/bank-document")
def payee_document():
    """The bank document (开户许可证/银行回单) attached to the organisation's own payee."""
    fund = fund_of(current_user.organisation_id)
    if fund is None or fund.payee_document is None:
        abort(404)
    file = fund.payee_document
    return send_download(file.data, file.filename, fallback=f"bank-document-{fund.id}", inline=True)
