"""Verified registrations (注册核实): a self-registered organisation counts nowhere and cannot submit until its unit
verifies it against the certificate; a claim of a registry organisation opens its account only once verified."""
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from domain import DomainError
from domain import applications as verbs
from domain.dashboard import TodoFilter, build_dashboard, formation_rate, todo_page
from domain.todo_exports import todo_xlsx
from domain.registry import search_organisations, unit_summary
from domain.registrations import detach_contact, refuse_registration, verification_queue, verify_registration
from models import (
    Application, AuditEvent, LoginSession, Notification, Organisation, RegistrationKind, RegistrationReview,
    RegistrationStatus, Role, User, db, utcnow,
)
from tests.conftest import PASSWORD, complete_data, unit_by_code, valid_credit_code
from tests.test_auth_routes import register_form

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def register(client, **overrides):
    form = register_form(**{"certificate": (io.BytesIO(PNG), "营业执照.png"), **overrides})
    return client.post("/auth/register", data=form, content_type="multipart/form-data")


def review_of(username: str) -> RegistrationReview:
    user = db.session.scalar(sa.select(User).filter_by(username=username))
    return db.session.scalar(sa.select(RegistrationReview).filter_by(user_id=user.id))


@pytest.fixture
def new_org(client, app):
    """A new organisation registered through the page, 3 formal members (应建未建 if it counted)."""
    code = valid_credit_code()
    response = register(client, credit_code=code, formal_members="3", username="newcontact")
    assert response.status_code == 302
    client.post("/auth/logout")
    return code


def test_a_new_organisation_waits_unverified_with_its_certificate(app, new_org):
    with app.app_context():
        org = db.session.scalar(sa.select(Organisation).filter_by(credit_code=new_org))
        review = review_of("newcontact")
        assert org.verified is False and review.user.active
        assert (review.kind, review.status, review.position) == (RegistrationKind.NEW, RegistrationStatus.PENDING,
                                                                 "办公室主任")
        assert review.certificate.data == PNG and review.certificate.content_type == "image/png"


def test_an_unverified_organisation_counts_nowhere(app, new_org, make_org):
    make_org(formal_members=3)  # a registry organisation alongside: it counts
    with app.app_context():
        unit = unit_by_code("industrial_park")
        rate = formation_rate()
        assert (rate.organisations, rate.with_members, rate.should_build) == (1, 1, 1)
        assert build_dashboard().zone.organisations == 1
        assert [o.credit_code for o in todo_page(TodoFilter(list="build"), None).items] != [new_org]
        assert new_org not in {o.credit_code for o in todo_page(TodoFilter(list="build"), None).items}
        sheet = load_workbook(io.BytesIO(todo_xlsx(TodoFilter(list="build"), None))).active
        assert new_org not in {c.value for row in sheet.iter_rows() for c in row}
        assert new_org not in {o.credit_code for o in search_organisations(unit=unit).items}
        assert next(r for r in unit_summary() if r["unit"].id == unit.id)["organisations"] == 1


def test_it_may_draft_but_not_submit_until_verified(app, new_org, make_user):
    with app.app_context():
        review = review_of("newcontact")
        application = verbs.start_application(review.organisation, complete_data(formal=3, probationary=0),
                                              actor=review.user)
        db.session.commit()
        with pytest.raises(DomainError, match="尚待所属初审单位核实"):
            verbs.submit_application(application, actor=review.user, version=application.version)
        db.session.rollback()
        verify_registration(review_of("newcontact"), actor=db.session.get(User, make_user(Role.ADMIN).id))
        db.session.commit()
        application = db.session.get(Application, application.id)
        verbs.submit_application(application, actor=review_of("newcontact").user, version=application.version)
        db.session.commit()
        assert formation_rate().organisations == 1  # counted now


def test_the_units_reviewer_verifies_beside_the_certificate(client, app, new_org, login_as):
    login_as(Role.UNIT_REVIEWER, unit_code="logistics_park")
    assert "目前没有待核实的注册" in client.get("/verifications/").get_data(as_text=True)  # another unit's
    with app.app_context():
        review_id = review_of("newcontact").id
    assert client.get(f"/verifications/{review_id}/certificate").status_code == 404
    client.post("/auth/logout")
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    page = client.get("/verifications/").get_data(as_text=True)
    assert "通辽测试物流有限公司" in page and "办公室主任" in page and "待核实注册" in page
    certificate = client.get(f"/verifications/{review_id}/certificate")
    assert certificate.data == PNG and certificate.mimetype == "image/png"
    assert client.post(f"/verifications/{review_id}/verify").status_code == 302
    with app.app_context():
        review = review_of("newcontact")
        assert review.status is RegistrationStatus.VERIFIED and review.organisation.verified
        assert review.decided_by.role is Role.UNIT_REVIEWER
        notice = db.session.scalar(sa.select(Notification).filter_by(user_id=review.user_id))
        assert "核实通过" in notice.message and notice.application_id is None
        assert db.session.scalar(sa.select(AuditEvent.summary).filter_by(action="verify_registration")).startswith(
            "核实通过：通辽测试物流有限公司")
    again = client.post(f"/verifications/{review_id}/verify", follow_redirects=True).get_data(as_text=True)
    assert "该注册已核实，不能再次处理" in again


def test_a_refusal_needs_a_reason_and_the_contact_sees_it(client, app, new_org, login_as):
    with app.app_context():
        review_id = review_of("newcontact").id
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    bare = client.post(f"/verifications/{review_id}/refuse", data={"reason": "  "}, follow_redirects=True)
    assert "不通过核实须填写理由" in bare.get_data(as_text=True)
    client.post(f"/verifications/{review_id}/refuse", data={"reason": "证照上的名称与填写的不一致"})
    client.post("/auth/logout")
    login = client.post("/auth/login", data={"username": "newcontact", "password": "goodpass1"}, follow_redirects=True)
    assert "您的注册未通过所属初审单位核实：证照上的名称与填写的不一致" in login.get_data(as_text=True)
    with app.app_context():
        assert review_of("newcontact").status is RegistrationStatus.REFUSED
        assert formation_rate().organisations == 0


def test_a_claim_keeps_the_account_closed_and_never_blocks_another(client, app, make_org, make_user):
    org = make_org(name="名录中的企业", formal_members=4)
    for username in ("claimer1", "claimer2"):  # a pending claim blocks nobody
        assert register(client, credit_code=org.credit_code, username=username).status_code == 302
    login = client.post("/auth/login", data={"username": "claimer1", "password": "goodpass1"}, follow_redirects=True)
    assert "正在等待所属初审单位核实" in login.get_data(as_text=True)
    with app.app_context():
        admin = db.session.get(User, make_user(Role.ADMIN).id)
        assert {r.user.username for r in verification_queue(admin)} == {"claimer1", "claimer2"}
        verify_registration(review_of("claimer1"), actor=admin)
        db.session.commit()
        assert review_of("claimer1").user.active and db.session.get(Organisation, org.id).name == "名录中的企业"
        with pytest.raises(DomainError, match="已有开通的联系人账号"):
            verify_registration(review_of("claimer2"), actor=admin)
        db.session.rollback()
        detach_contact(review_of("claimer1").user, "原联系人已离职", actor=admin)
        verify_registration(review_of("claimer2"), actor=admin)
        db.session.commit()
        assert not review_of("claimer1").user.active and review_of("claimer2").user.active
        assert "原联系人已离职" in db.session.scalar(sa.select(AuditEvent.summary).filter_by(action="detach_contact"))
    taken = register(client, credit_code=org.credit_code, username="claimer3")
    assert "该统一社会信用代码已注册" in taken.get_data(as_text=True)  # a verified contact holds it


def test_an_undecided_claim_lapses_after_30_days(client, app, make_org, make_user):
    org = make_org()
    register(client, credit_code=org.credit_code, username="late")
    with app.app_context():
        db.session.execute(sa.update(RegistrationReview).values(created_at=utcnow() - timedelta(days=30, hours=1)))
        db.session.commit()
        admin = db.session.get(User, make_user(Role.ADMIN).id)
        assert verification_queue(admin) == []
        with pytest.raises(DomainError, match="已超过30天未处理，已失效"):
            verify_registration(review_of("late"), actor=admin)
    login = client.post("/auth/login", data={"username": "late", "password": "goodpass1"}, follow_redirects=True)
    assert "超过30天未获核实，已失效" in login.get_data(as_text=True)


def test_the_admin_cannot_open_an_unverified_claim_by_reactivating_it(client, app, make_org, login_as):
    org = make_org()
    register(client, credit_code=org.credit_code, username="claimer")
    login_as(Role.ADMIN)
    with app.app_context():
        user_id = review_of("claimer").user_id
    page = client.post(f"/admin/users/{user_id}/active", data={"active": "1"}, follow_redirects=True)
    assert "不能直接启用" in page.get_data(as_text=True)
    with app.app_context():
        assert not db.session.get(User, user_id).active


def test_detaching_a_contact_ends_their_logins(client, app, login_as, make_user, make_org):
    contact = make_user(Role.APPLICANT, organisation=make_org())
    other = app.test_client()
    other.post("/auth/login", data={"username": contact.username, "password": PASSWORD})
    login_as(Role.ADMIN)
    refused = client.post(f"/verifications/contacts/{contact.id}/detach", data={"reason": ""}, follow_redirects=True)
    assert "解除联系人须填写理由" in refused.get_data(as_text=True)
    client.post(f"/verifications/contacts/{contact.id}/detach", data={"reason": "冒用他人名义注册"})
    with app.app_context():
        assert not db.session.get(User, contact.id).active
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession).where(
            LoginSession.user_id == contact.id, LoginSession.ended_at.is_(None))) == 0
    assert other.get("/applicant/").status_code == 302  # sent to log in again


def test_registration_needs_a_certificate_and_a_position(client, app):
    form = register_form(position="")
    del form["certificate"]
    response = client.post("/auth/register", data=form, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert "请上传营业执照或登记证书" in page and page.count("此项为必填项") == 1  # the position
    assert 'value="通辽测试物流有限公司"' in page
    fake = register(client, certificate=(io.BytesIO(b"MZ\x90\x00" * 10), "执照.png"))
    assert "不是 PDF、JPG 或 PNG 文件" in fake.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0


def test_a_refused_registration_costs_no_password_hashing(client, monkeypatch, make_org, make_user):
    taken = make_org()
    make_user(Role.APPLICANT, organisation=taken)  # its verified contact
    import models.user

    hashed = []
    monkeypatch.setattr(models.user, "generate_password_hash", lambda p: hashed.append(p) or "x")
    for bad in ({"credit_code": taken.credit_code}, {"credit_code": "91150500MA0000001A"},
                {"password": "short", "password_confirm": "short"}, {"contact_phone": "123"}):
        response = register(client, **bad)
        assert response.status_code == 200
    assert hashed == []


def test_registrations_are_rate_limited_per_address(client, app):
    app.config["REGISTER_RATE_LIMIT"] = "2 per minute"
    codes = [register(client, credit_code="91150500MA0000001A").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_a_registry_import_merges_into_a_self_registered_organisation_and_lists_the_differences(
        client, app, new_org, login_as):
    from tests.test_registry_import import csv_bytes, latest_job, row, upload

    login_as(Role.ADMIN)
    upload(client, csv_bytes([row(new_org, name="通辽测试物流有限公司", unit="综合物流园区党委", formal="5",
                                  employees="30", contact="名录联系人", phone="13800000001")]))
    job = latest_job(app)
    page = client.post(f"/registry/imports/{job.id}/commit", follow_redirects=True).get_data(as_text=True)
    with app.app_context():
        org = db.session.scalar(sa.select(Organisation).filter_by(credit_code=new_org))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 1  # merged, not doubled
        assert (org.formal_members, org.unit.code) == (5, "logistics_park")  # the file's values are written
        assert (org.contact_name, org.contact_phone, org.verified) == ("李丽娜", "0475-8123456", False)  # kept
        fields = {d["field"]: (d["registered"], d["imported"]) for d in latest_job(app).differences}
    assert fields == {"初审单位": ("新型工业园区党委", "综合物流园区党委"), "正式党员人数": ("3", "5")}
    assert "有 2 项与组织自行注册时填写的不同" in page and "新型工业园区党委" in page


def test_a_refused_registrant_holds_nothing_and_the_real_contact_claims(client, app, new_org, make_user):
    """A stranger registering a real organisation's public code first: refused, they block nobody, and the real
    contact's claim, once verified, makes the organisation count."""
    admin_id = make_user(Role.ADMIN).id
    with app.app_context():
        refuse_registration(review_of("newcontact"), "证照与本组织不符", actor=db.session.get(User, admin_id))
        db.session.commit()
    assert register(client, credit_code=new_org, username="realone").status_code == 302
    with app.app_context():
        admin = db.session.get(User, admin_id)
        claim = review_of("realone")
        assert claim.kind is RegistrationKind.CLAIM and not claim.user.active
        verify_registration(claim, actor=admin)
        db.session.commit()
        assert review_of("realone").user.active and formation_rate().organisations == 1
        assert not review_of("newcontact").user.active


def test_a_detached_contacts_waiting_registration_cannot_be_verified_later(client, app, new_org, make_user):
    with app.app_context():
        admin = db.session.get(User, make_user(Role.ADMIN).id)
        detach_contact(review_of("newcontact").user, "冒用他人名义注册", actor=admin)
        db.session.commit()
        assert review_of("newcontact").status is RegistrationStatus.REFUSED
        with pytest.raises(DomainError, match="该注册未通过核实，不能再次处理"):
            verify_registration(review_of("newcontact"), actor=admin)


def test_only_one_settled_contact_and_a_waiting_one_cannot_submit(client, app, new_org, make_user):
    """A waiting registrant and a claimant of the same new organisation: verifying the claim makes the organisation
    count, but the other registrant, still unverified, submits nothing and cannot be verified beside it."""
    assert register(client, credit_code=new_org, username="claimant").status_code == 302
    with app.app_context():
        admin = db.session.get(User, make_user(Role.ADMIN).id)
        verify_registration(review_of("claimant"), actor=admin)
        db.session.commit()
        first = review_of("newcontact")
        application = verbs.start_application(first.organisation, complete_data(formal=3, probationary=0),
                                              actor=first.user)
        db.session.commit()
        with pytest.raises(DomainError, match="您的注册尚待所属初审单位核实"):
            verbs.submit_application(application, actor=review_of("newcontact").user, version=application.version)
        db.session.rollback()
        with pytest.raises(DomainError, match="已有开通的联系人账号"):
            verify_registration(review_of("newcontact"), actor=admin)


def test_a_detached_contact_is_not_reactivated_beside_the_new_one(client, app, make_org, make_user, login_as):
    org = make_org()
    old = make_user(Role.APPLICANT, organisation=org, username="oldcontact")
    admin_id = make_user(Role.ADMIN).id
    with app.app_context():
        detach_contact(db.session.get(User, old.id), "离职", actor=db.session.get(User, admin_id))
        db.session.commit()
    assert register(client, credit_code=org.credit_code, username="newclaim").status_code == 302
    with app.app_context():
        verify_registration(review_of("newclaim"), actor=db.session.get(User, admin_id))
        db.session.commit()
    login_as(Role.ADMIN)
    page = client.post(f"/admin/users/{old.id}/active", data={"active": "1"}, follow_redirects=True)
    assert "该组织已有开通的联系人账号，不能再启用另一个" in page.get_data(as_text=True)


def test_an_unverified_organisations_steps_are_not_in_the_average_days(app, new_org):
    with app.app_context():
        review = review_of("newcontact")
        for _ in range(2):
            application = verbs.start_application(review.organisation, complete_data(formal=3, probationary=0),
                                                  actor=review.user)
            verbs.withdraw_application(application, actor=review.user, version=application.version)
            db.session.commit()
        assert build_dashboard().step_days == []
