"""Dates people enter follow the facts they come after (issue 29): the boundary day is accepted, the day before is
refused with a message naming the earlier fact and its date, through the domain and through the page."""
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from domain import DomainError, funds, guidance
from domain import applications as verbs
from domain.applications import ElectionReport
from domain.facts import chinese_date
from models import (
    AppState, Application, Assignment, ChecklistItem, DisbursementBatch, Document, DocumentKind, FundItem,
    Instructor, MemberStatus, Role, User, VisitForm, db,
)
from tests.conftest import complete_data, zone_today

ZONE = ZoneInfo("Asia/Shanghai")
EARLIER = zone_today() - timedelta(days=10)


def _zone_moment(day: date) -> datetime:
    """01:00 in the zone on `day`: still the day before in UTC, so a check on the UTC date would be off by one."""
    return datetime.combine(day, time(1, 0), tzinfo=ZONE)


def test_chinese_date_has_no_leading_zeros():
    assert chinese_date(date(2026, 3, 1)) == "2026年3月1日"


# ---------------------------------------------------------------- the election follows the approval 批复

@pytest.fixture
def approved(app, make_application, make_instructor, make_user):
    """An application approved by the zone through the verb (so its 批复 exists), issued on EARLIER."""
    made = make_application("unit_approved")
    zone_id, contact_id = make_user(Role.ZONE_APPROVER).id, make_user(Role.APPLICANT, organisation=made.organisation).id
    instructor_id = make_instructor().id
    with app.app_context():
        application = db.session.get(Application, made.id)
        verbs.approve_application(application, actor=db.session.get(User, zone_id), version=application.version,
                                  instructor=db.session.get(Instructor, instructor_id))
        document = db.session.scalar(sa.select(Document).filter_by(application_id=made.id, kind=DocumentKind.APPROVAL))
        document.issued_at = _zone_moment(EARLIER)
        db.session.commit()
    return made.id, contact_id


def _report(day: date) -> ElectionReport:
    return ElectionReport(day, 5, 5, "党员1", 5)


def test_an_election_before_the_approval_is_refused_by_the_domain(ctx, approved):
    application_id, contact_id = approved
    application, contact = db.session.get(Application, application_id), db.session.get(User, contact_id)
    message = f"选举日期不能早于成立批复的印发日期（{chinese_date(EARLIER)}）"
    with pytest.raises(DomainError, match=re.escape(message)) as refused:
        verbs.report_election(application, _report(EARLIER - timedelta(days=1)), actor=contact,
                              version=application.version)
    assert refused.value.field == "election_date"
    with pytest.raises(DomainError, match=re.escape(f"选举日期不能晚于今天（{chinese_date(zone_today())}）")):
        verbs.report_election(application, _report(zone_today() + timedelta(days=1)), actor=contact,
                              version=application.version)
    verbs.report_election(application, _report(EARLIER), actor=contact, version=application.version)
    assert application.state is AppState.ELECTION_REPORTED


def test_an_election_before_the_approval_is_refused_beside_the_field(client, app, approved, make_user):
    from tests.conftest import PASSWORD

    application_id, contact_id = approved
    with app.app_context():
        username = db.session.get(User, contact_id).username
        version = db.session.get(Application, application_id).version
    client.post("/auth/login", data={"username": username, "password": PASSWORD})
    form = {"version": version, "voters_expected": 5, "voters_present": 5, "secretary_name": "党员1",
            "secretary_votes": 5, "election_date": (EARLIER - timedelta(days=1)).isoformat()}
    refused = client.post(f"/applications/{application_id}/steps/report_election", data=form,
                          headers={"HX-Request": "true"})
    page = refused.get_data(as_text=True)
    message = f"选举日期不能早于成立批复的印发日期（{chinese_date(EARLIER)}）"
    assert refused.status_code == 422
    assert re.search(r'name="election_date"[^>]*value="' + (EARLIER - timedelta(days=1)).isoformat()
                     + r'"[^>]*>\s*(<div class="form-text"[^>]*>[^<]*</div>)?(\s*<div[^>]*>){1,2}' + re.escape(message),
                     page)  # beside the field: after its hint (the dates it keeps between), if any
    assert 'value="党员1"' in page  # nothing typed is lost
    form["election_date"] = EARLIER.isoformat()
    assert client.post(f"/applications/{application_id}/steps/report_election", data=form).status_code == 302
    with app.app_context():
        assert db.session.get(Application, application_id).election_date == EARLIER


# ---------------------------------------------------------------- a visit follows the assignment

@pytest.fixture
def guided(app, make_application, make_user):
    """An approved application, its instructor assigned on EARLIER, and that instructor's account."""
    made = make_application("approved")
    user_id = make_user(Role.INSTRUCTOR).id
    with app.app_context():
        application = db.session.get(Application, made.id)
        db.session.get(User, user_id).instructor_id = application.instructor_id
        assignment = db.session.scalar(sa.select(Assignment).filter_by(application_id=made.id, ended_at=None))
        assignment.assigned_at = _zone_moment(EARLIER)
        db.session.commit()
    return made.id, user_id


def _visit(day: date) -> guidance.VisitData:
    return guidance.VisitData(day, VisitForm.PHONE, "首次走访")


def test_a_visit_before_the_assignment_is_refused_by_the_domain(ctx, guided):
    application, instructor = db.session.get(Application, guided[0]), db.session.get(User, guided[1])
    message = f"指导日期不能早于选派党建指导员的日期（{chinese_date(EARLIER)}）"
    with pytest.raises(DomainError, match=re.escape(message)):
        guidance.record_visit(application, _visit(EARLIER - timedelta(days=1)), actor=instructor)
    with pytest.raises(DomainError, match=re.escape("指导日期不能晚于今天")):
        guidance.record_visit(application, _visit(zone_today() + timedelta(days=1)), actor=instructor)
    guidance.record_visit(application, _visit(EARLIER), actor=instructor)


def test_a_visit_before_the_assignment_is_refused_beside_the_field(client, app, guided):
    from tests.conftest import PASSWORD

    with app.app_context():
        username = db.session.get(User, guided[1]).username
    client.post("/auth/login", data={"username": username, "password": PASSWORD})
    form = {"visited_on": (EARLIER - timedelta(days=1)).isoformat(), "form": VisitForm.PHONE.value,
            "topics": "了解党员情况"}
    refused = client.post(f"/applications/{guided[0]}/visits", data=form, headers={"HX-Request": "true"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert re.search(r'name="visited_on"[^>]*>(\s*<div[^>]*>){1,2}'
                     + re.escape(f"指导日期不能早于选派党建指导员的日期（{chinese_date(EARLIER)}）"), page)
    assert "了解党员情况" in page
    form["visited_on"] = EARLIER.isoformat()
    assert client.post(f"/applications/{guided[0]}/visits", data=form).status_code == 302


# ---------------------------------------------------------------- a 六建六送 delivery follows the establishment

def test_a_delivery_before_the_establishment_is_refused(ctx, make_application, make_user):
    made = make_application("election_reported")
    zone = db.session.get(User, make_user(Role.ZONE_APPROVER).id)
    application = db.session.get(Application, made.id)
    verbs.establish_organisation(application, actor=zone, version=application.version)
    today = zone_today()  # the history is append-only: established today, the day before is refused
    with pytest.raises(DomainError, match=re.escape(f"送达日期不能早于党组织成立的日期（{chinese_date(today)}）")):
        guidance.tick_delivery(application, ChecklistItem.PLAQUE, today - timedelta(days=1), actor=zone)
    guidance.tick_delivery(application, ChecklistItem.PLAQUE, today, actor=zone)


# ---------------------------------------------------------------- a payment follows the batch's approval

@pytest.fixture
def approved_batch(app, make_fund):
    item = make_fund("checked")
    with app.app_context():
        finance = db.session.get(User, make_fund.finance_id[0])
        zone = db.session.get(User, make_fund.zone_id[0])
        batch = funds.create_batch([db.session.get(FundItem, item.id)], actor=finance)
        funds.submit_batch(batch, actor=finance, version=batch.version)
        funds.approve_batch(batch, actor=zone, version=batch.version)
        batch.approved_at = _zone_moment(EARLIER)
        db.session.commit()
        return batch.id, finance.username


def test_a_payment_before_the_approval_is_refused_by_the_domain(ctx, approved_batch):
    batch = db.session.get(DisbursementBatch, approved_batch[0])
    finance = db.session.scalar(sa.select(User).filter_by(username=approved_batch[1]))
    message = f"拨付日期不能早于批次的审批日期（{chinese_date(EARLIER)}）"
    with pytest.raises(DomainError, match=re.escape(message)):
        funds.record_batch_payment(batch, voucher_number="记-1", paid_on=EARLIER - timedelta(days=1), actor=finance,
                                   version=batch.version)
    funds.record_batch_payment(batch, voucher_number="记-1", paid_on=EARLIER, actor=finance, version=batch.version)


def test_a_payment_before_the_approval_is_refused_beside_the_field(client, app, approved_batch):
    from tests.conftest import PASSWORD

    batch_id, username = approved_batch
    client.post("/auth/login", data={"username": username, "password": PASSWORD})
    with app.app_context():
        version = db.session.get(DisbursementBatch, batch_id).version
    form = {"version": version, "voucher_number": "记-2", "paid_on": (EARLIER - timedelta(days=1)).isoformat()}
    refused = client.post(f"/finance/batches/{batch_id}/payment", data=form, headers={"HX-Request": "true"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'value="记-2"' in page
    assert re.search(r'name="paid_on"[^>]*>[^<]*(<[^>]*>[^<]*){0,2}?'
                     + re.escape(f"拨付日期不能早于批次的审批日期（{chinese_date(EARLIER)}）"), page)
    form["paid_on"] = EARLIER.isoformat()
    assert client.post(f"/finance/batches/{batch_id}/payment", data=form).status_code == 302


# ---------------------------------------------------------------- a member joined before the application

def test_a_join_date_after_the_first_submission_is_refused(ctx, make_application, make_user):
    made = make_application("returned")
    application = db.session.get(Application, made.id)
    application.submitted_at = _zone_moment(EARLIER)
    contact = db.session.get(User, make_user(Role.APPLICANT, organisation=application.organisation).id)
    data = complete_data()
    data.members[-1].joined_on = EARLIER + timedelta(days=1)  # the probationary member
    with pytest.raises(DomainError, match=re.escape(f"入党日期不能晚于申请的首次提交日期（{chinese_date(EARLIER)}）")):
        verbs.save_application(application, data, actor=contact, version=application.version)
    data.members[-1].joined_on = EARLIER
    verbs.save_application(application, data, actor=contact, version=application.version)


def test_a_formal_member_has_served_a_year_of_probation(ctx, make_org, make_user):
    org = db.session.merge(make_org(formal_members=5, probationary_members=1))
    contact = db.session.get(User, make_user(Role.APPLICANT, organisation=org).id)
    data = complete_data()
    assert data.members[0].status is MemberStatus.FORMAL
    today = zone_today()
    year_before = today.replace(year=today.year - 1) if (today.month, today.day) != (2, 29) else \
        date(today.year - 1, 2, 28)
    data.members[0].joined_on = year_before + timedelta(days=1)
    with pytest.raises(DomainError, match=re.escape(f"入党日期应不晚于{chinese_date(year_before)}")):
        verbs.start_application(org, data, actor=contact)
    data.members[0].joined_on = year_before
    verbs.start_application(org, data, actor=contact)
