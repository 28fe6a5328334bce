"""The 换届 panel's steps on the organisation's record page (党组织档案, blueprints/party_orgs.py): the 换届请示, its
review and approval, the election's report and approval, and the requests to postpone or advance the election. Each
step is one POST of renewal_steps' table; the answer is the record card again, as after the record's other steps."""
from flask import Blueprint, abort, render_template, url_for
from flask_login import current_user

from domain import DomainError, party_orgs

from . import answer, form_version, role_wall, run_verb
from .forms import RenewalForm
from .party_orgs import load, record_context

bp = Blueprint("renewals", __name__, url_prefix="/orgs/<int:party_org_id>/renewal")
role_wall(bp)


def _day(field, message: str):
    if field.data is None:
        raise DomainError(message, field.name)
    return field.data


def _slate(f: RenewalForm) -> party_orgs.Slate:
    return party_orgs.Slate.typed(f.secretary.data, f.deputies.data, f.members.data)


def _by(f: RenewalForm) -> dict:
    return {"actor": current_user, "version": form_version(f.version.data)}


# What each step reads of the form, and its verb: (the record, its open request, the form).
VERBS = {
    "submit": lambda p, r, f: party_orgs.submit_renewal(p, _day(f.planned_on, "请选择计划选举日期"), _slate(f), **_by(f)),
    "withdraw": lambda p, r, f: party_orgs.withdraw_renewal(r, **_by(f)),
    "pass": lambda p, r, f: party_orgs.pass_renewal(r, **_by(f)),
    "return": lambda p, r, f: party_orgs.return_renewal(r, f.reason.data or "", **_by(f)),
    "zone_return": lambda p, r, f: party_orgs.return_renewal(r, f.reason.data or "", **_by(f)),
    "approve": lambda p, r, f: party_orgs.approve_renewal(r, **_by(f)),
    "report_election": lambda p, r, f: party_orgs.report_renewal_election(
        r, _day(f.elected_on, "请选择选举日期"), _slate(f), **_by(f)),
    "approve_election": lambda p, r, f: party_orgs.approve_renewal_election(r, **_by(f)),
    "return_election": lambda p, r, f: party_orgs.return_renewal_election(r, f.reason.data or "", **_by(f)),
    "ask_date_change": lambda p, r, f: party_orgs.ask_date_change(
        p, _day(f.new_date, "请选择新的换届日期"), f.reason.data or "", **_by(f)),
    "grant_date_change": lambda p, r, f: party_orgs.grant_date_change(r, **_by(f)),
    "refuse_date_change": lambda p, r, f: party_orgs.refuse_date_change(r, f.reason.data or "", **_by(f)),
    "ask_reschedule": lambda p, r, f: party_orgs.ask_reschedule(
        r, _day(f.new_date, "请选择新的选举日期"), f.reason.data or "", **_by(f)),
    "grant_reschedule": lambda p, r, f: party_orgs.grant_reschedule(r, **_by(f)),
    "refuse_reschedule": lambda p, r, f: party_orgs.refuse_reschedule(r, f.reason.data or "", **_by(f)),
}


def _run(party_org, step: party_orgs.RenewalStep, form: RenewalForm):
    renewal = party_orgs.open_renewal(party_org)
    if renewal is None and None not in step.sources:  # gone meanwhile (withdrawn, decided): say so, as the verb would
        raise DomainError(party_orgs.renewal_step_refusal(party_org, None, step, current_user) or step.label)
    return VERBS[step.action](party_org, renewal, form)


@bp.post("/<action>")
def step(party_org_id: int, action: str):
    """One step of the table; a role it is not for is refused before the form is read."""
    party_org, step = load(party_org_id), party_orgs.RENEWAL_STEP_BY_ACTION.get(action)
    if step is None:
        abort(404)
    if current_user.role is not step.role:
        abort(403)
    form = RenewalForm()
    status, failed = run_verb(lambda: _run(party_org, step, form), f"已{step.label}。", form)

    def render(template: str) -> str:  # loaded again after the commit or the rollback
        return render_template(template, **record_context(
            load(party_org_id), f"renewal.{action}" if failed else None, form if failed else None))
    return answer(status, lambda: render("party_orgs/_record.html"), lambda: render("party_orgs/show.html"),
                  done=url_for("party_orgs.show", party_org_id=party_org_id, _anchor="renewal"),
                  trigger="counts-changed")


@bp.app_template_global()
def renewal_panel(party_org):
    """The record page's 换届 panel for the signed-in user (templates/party_orgs/_renewal.html)."""
    return party_orgs.renewal_panel_of(party_org, current_user)
