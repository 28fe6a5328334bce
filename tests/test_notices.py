"""Every request for action is a notice (issue 29): who receives it, its text, its link."""
import pytest
import sqlalchemy as sa

from domain import funds, notices
from domain import applications as verbs
from domain.facts import chinese_date
from domain.inbox import nav_counts
from models import Application, FundItem, Instructor, Notification, Role, User, db
from tests.conftest import zone_today


def _notices(user_id: int) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).filter_by(user_id=user_id).order_by(Notification.id)))


def test_every_link_is_a_page_of_the_app(app):
    adapter = app.url_map.bind("localhost")
    for path in (notices.card_panel(7, "fund").partition("#")[0], notices.ZONE_FUNDS, "/finance/batches/7",
                 "/finance/items/7/payee"):
        endpoint, _ = adapter.match(path, method="GET")
        assert endpoint


def test_the_assigned_instructor_is_told(ctx, make_application, make_user):
    made = make_application("unit_approved")
    zone = db.session.get(User, make_user(Role.ZONE_APPROVER).id)
    instructor_user = db.session.get(User, make_user(Role.INSTRUCTOR).id)
    application = db.session.get(Application, made.id)
    verbs.approve_application(application, actor=zone, version=application.version,
                              instructor=db.session.get(Instructor, instructor_user.instructor_id))
    [notice] = _notices(instructor_user.id)
    assert notice.message == f"您已被选派为{application.organisation.name}的党建指导员，请及时联系并开展指导"
    assert notice.application_id == application.id and notice.link == ""  # the card


@pytest.fixture
def fund_people(app, make_fund, make_user):
    """An approved-amount fund, its contact, and one account of each role that funds concern."""
    item = make_fund("pending")
    contact = make_user(Role.APPLICANT, organisation=item.organisation)
    return item.id, contact.id, make_fund.zone_id[0], make_fund.finance_id[0]


def test_a_confirmed_fund_asks_the_applicant_for_the_payee(ctx, fund_people):
    item_id, contact_id, zone_id, _ = fund_people
    item = db.session.get(FundItem, item_id)
    funds.confirm_fund(item, actor=db.session.get(User, zone_id), version=item.version)
    [notice] = _notices(contact_id)
    assert notice.message == f"启动经费已核定 {item.amount} 元，请填报收款账户"
    assert notice.link == f"/applications/{item.application_id}#fund"


def test_a_batch_tells_the_zone_then_finance_then_the_applicant(ctx, make_fund, make_user):
    item = make_fund("checked", amount="2500")
    contact_id = make_user(Role.APPLICANT, organisation=item.organisation).id
    zone_id, finance_id = make_fund.zone_id[0], make_fund.finance_id[0]
    zone, finance = db.session.get(User, zone_id), db.session.get(User, finance_id)
    before = nav_counts(zone).waiting
    batch = funds.create_batch([db.session.get(FundItem, item.id)], actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    [submitted] = _notices(zone_id)
    assert submitted.message == f"拨付批次{batch.number}（1笔，合计2500.00元）已提交，请审批"
    assert submitted.link == "/zone/funds"
    db.session.flush()
    assert nav_counts(zone).waiting == before + 1  # counted in the zone's 待办

    funds.approve_batch(batch, actor=zone, version=batch.version)
    approved = _notices(finance_id)[-1]
    assert approved.message == f"拨付批次{batch.number}已审批同意，请拨付并登记凭证"
    assert approved.link == f"/finance/batches/{batch.id}"
    db.session.flush()
    assert nav_counts(zone).waiting == before

    funds.record_batch_payment(batch, voucher_number="记-9", paid_on=zone_today(), actor=finance,
                               version=batch.version)
    paid = _notices(contact_id)[-1]
    assert paid.message == f"启动经费 2500.00 元已于{chinese_date(zone_today())}拨付（凭证号 记-9），请留意到账"
    assert paid.link == f"/applications/{item.application_id}#fund"


def test_a_returned_batch_tells_finance(ctx, make_fund):
    item = make_fund("checked")
    zone, finance = (db.session.get(User, make_fund.zone_id[0]), db.session.get(User, make_fund.finance_id[0]))
    batch = funds.create_batch([db.session.get(FundItem, item.id)], actor=finance)
    funds.submit_batch(batch, actor=finance, version=batch.version)
    funds.return_batch(batch, actor=zone, version=batch.version)
    notice = _notices(finance.id)[-1]
    assert notice.message == f"拨付批次{batch.number}被党工委退回，请调整后重新提交"
    assert notice.link == f"/finance/batches/{batch.id}"


def test_a_corrected_payee_tells_finance_where_to_check_it_again(ctx, make_fund, make_user):
    item = db.session.get(FundItem, make_fund("checked").id)
    contact = db.session.get(User, make_user(Role.APPLICANT, organisation=item.organisation).id)
    finance = db.session.get(User, make_fund.finance_id[0])
    other_finance = make_user(Role.FINANCE)
    before = len(_notices(finance.id))
    funds.set_payee(item, funds.Payee("改名前户名", "中国银行通辽分行", "6222 0206 1111 2222"), actor=contact)
    assert len(_notices(finance.id)) == before  # a first entry or a change before any return: finance checks it anyway
    funds.return_payee(item, actor=finance, version=item.version, reason="开户名与开户许可证不一致")
    funds.set_payee(item, funds.Payee(item.organisation.name, "中国银行通辽分行", "6222 0206 1111 2222"), actor=contact)
    for user_id in (finance.id, other_finance.id):
        [notice] = _notices(user_id)[before if user_id == finance.id else 0:]
        assert notice.message == f"{item.organisation.name}已更正被退回的收款账户，请复核"
        assert notice.link == f"/finance/items/{item.id}/payee"
    assert _notices(contact.id)[-1].message == "财务退回了收款账户，请更正后重新保存：开户名与开户许可证不一致"


def test_the_notice_page_opens_the_link(client, app, login_as):
    user = login_as(Role.FINANCE)
    with app.app_context():
        notices.notify([db.session.get(User, user.id)], "拨付批次2026-BF-001已审批同意", link="/finance/batches/1")
        db.session.commit()
    page = client.get("/applications/notifications").get_data(as_text=True)
    assert '<a href="/finance/batches/1">拨付批次2026-BF-001已审批同意</a>' in page
