"""A notice about an application's fund, payee or election opens its card at the panel it concerns (issue 29), not
the applicant's home: the link names the panel, and the card carries the panel's id for whoever the notice is for."""
import sqlalchemy as sa

from domain import applications as verbs
from domain import funds, notices
from domain.applications import ElectionReport
from models import Application, FundItem, Notification, Role, User, db
from tests.conftest import sign_in_directly, zone_today


def _last_notice(user_id: int) -> Notification:
    return db.session.scalars(sa.select(Notification).filter_by(user_id=user_id).order_by(Notification.id.desc())).first()


def test_a_returned_payee_opens_the_fund_panel(app, make_fund, make_user, client):
    item = make_fund("checked")
    contact = make_user(Role.APPLICANT, organisation=item.organisation)
    with app.app_context():
        fund = db.session.get(FundItem, item.id)
        funds.return_payee(fund, actor=db.session.get(User, make_fund.finance_id[0]), version=fund.version,
                           reason="开户名与开户许可证不一致")
        db.session.commit()
        link = _last_notice(contact.id).link
    assert link == f"/applications/{item.application_id}#fund"
    sign_in_directly(app, client, contact.id)
    card = client.get(link.partition("#")[0]).get_data(as_text=True)
    assert 'id="fund"' in card and "开户名与开户许可证不一致" in card and 'action="/applicant/fund/payee?on=card"' in card


def test_officials_cards_carry_no_payee_form(app, make_fund, login_as, client):
    item = make_fund("approved")
    login_as(Role.ZONE_APPROVER)
    card = client.get(f"/applications/{item.application_id}").get_data(as_text=True)
    assert 'id="fund"' not in card


def test_the_election_notices_open_the_election(app, ctx, make_application, make_user, client):
    made = make_application("approved")
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    zone = make_user(Role.ZONE_APPROVER)
    application = ctx.get(Application, made.id)
    verbs.report_election(application, ElectionReport(zone_today(), 5, 5, "党员1", 5),
                          actor=ctx.get(User, contact.id), version=application.version)
    assert _last_notice(zone.id).link == f"/applications/{made.id}#election"
    verbs.return_election(application, actor=ctx.get(User, zone.id), version=application.version,
                          comment="实到人数有误")
    assert _last_notice(contact.id).link == f"/applications/{made.id}#step-report_election"
    ctx.commit()
    sign_in_directly(app, client, contact.id)
    card = client.get(f"/applications/{made.id}").get_data(as_text=True)
    assert 'id="step-report_election"' in card and 'id="election"' in card


def test_every_panel_a_notice_names_is_one_the_card_has():
    from pathlib import Path

    card = (Path(__file__).resolve().parents[1] / "templates/applications/_card.html").read_text(encoding="utf-8")
    fund = (Path(__file__).resolve().parents[1] / "templates/applicant/_fund.html").read_text(encoding="utf-8")
    assert 'id="election"' in card and 'id="step-{{ step.action }}"' in card and 'id="fund"' in fund
    assert set(notices.CARD_PANELS) == {"fund", "election", "step-report_election"}
