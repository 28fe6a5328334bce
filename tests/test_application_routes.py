"""The application pages through the Flask client, per role."""
import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

import domain.applications
from domain import applications as verbs
from domain.signing import SigningError
from models import AppState, Application, ApplicationEvent, Notification, Role, User, db, utcnow

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.4\n%test\n"
HX = {"HX-Request": "true"}


def member_fields(formal: int, probationary: int = 0) -> dict:
    rows = [(f"党员{i + 1}", "male", "2012-07-01", "formal" if i < formal else "probationary")
            for i in range(formal + probationary)]
    return {name: [r[i] for r in rows] for i, name in
            enumerate(["member_name", "member_gender", "member_joined", "member_status"])}


def application_form(formal=4, probationary=1, **overrides) -> dict:
    form = {"requested_kind": "branch", "formal_members": formal, "probationary_members": probationary,
            "proposed_secretary": "党员1", "partner_organisations": "", "reasons": "党员人数符合条件",
            **member_fields(formal, probationary)}
    form.update(overrides)
    return form


def get(app, model, id_):
    with app.app_context():
        obj = db.session.get(model, id_)
        db.session.expunge(obj)
        return obj


@pytest.fixture
def applicant(login_as, make_org):
    org = make_org(formal_members=4, probationary_members=1)
    return login_as(Role.APPLICANT, organisation=org)


def test_applicant_saves_a_draft_then_submits(client, app, applicant):
    response = client.post("/applications/new", data=application_form(), follow_redirects=True)
    assert "已保存草稿" in response.get_data(as_text=True)
    with app.app_context():
        application = db.session.scalar(sa.select(Application))
        assert application.state is AppState.DRAFT and [m.name for m in application.members][:2] == ["党员1", "党员2"]
        app_id, version = application.id, application.version
    card = client.post(f"/applications/{app_id}/steps/submit", data={"version": version}, headers=HX)
    assert card.status_code == 200 and card.headers["HX-Trigger"] == "counts-changed"
    assert "已提交申请" in card.get_data(as_text=True) and "待初审" in card.get_data(as_text=True)
    assert get(app, Application, app_id).state is AppState.SUBMITTED


def test_submitting_against_the_party_rules_names_the_rule_and_keeps_the_draft(client, app, applicant):
    form = application_form(formal=2, probationary=0, requested_kind="branch")
    response = client.post("/applications/new", data={**form, "submit": "1"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "正式党员不足3人，应与邻近单位联合成立党支部" in page
    with app.app_context():
        assert db.session.scalar(sa.select(Application.state)) is AppState.DRAFT  # saved, not submitted


def test_counts_must_agree_with_the_member_list(client, app, applicant):
    form = application_form(formal=4, probationary=1)
    form["formal_members"] = 5
    response = client.post("/applications/new", data={**form, "submit": "1"}, follow_redirects=True)
    assert "与填写的人数" in response.get_data(as_text=True)


def test_a_bad_member_row_is_shown_next_to_it_and_nothing_typed_is_lost(client, applicant):
    form = application_form()
    form["member_joined"][1] = "去年"
    response = client.post("/applications/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请填写入党日期，格式如 2015-07-01" in page and 'value="党员2"' in page and "党员人数符合条件" in page
    # The message stands under the field it is about, which points to it.
    joined = re.search(r'<input[^>]*id="member-joined-1"[^>]*>(.*?)</td>', page, re.S)
    assert 'aria-describedby="member-error-1"' in joined.group(0) and 'id="member-error-1"' in joined.group(1)


def test_a_join_date_before_the_party_was_founded_is_refused(client, applicant):
    form = application_form()
    form["member_joined"][0] = "1850-01-01"
    page = client.post("/applications/new", data=form).get_data(as_text=True)
    assert "入党日期不能早于1921年7月1日" in page


@pytest.mark.parametrize("name, content, message", [
    ("setup.pdf", b"MZ\x90\x00" + b"\x00" * 100, "不是 PDF、JPG 或 PNG 文件"),
    ("big.pdf", b"%PDF-" + b"\x00" * (11 * 1024 * 1024), "超过 10 MB"),
    ("empty.png", b"", "是空的"),
])
def test_bad_uploads_are_refused_by_content(client, app, applicant, name, content, message):
    from io import BytesIO

    response = client.post("/applications/new", data={**application_form(), "attachments": (BytesIO(content), name)},
                           content_type="multipart/form-data", follow_redirects=True)
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 0  # nothing half-saved


def test_an_oversized_submission_is_refused_in_chinese_and_stores_nothing(client, app, applicant):
    import io

    content = b"%PDF-1.4\n" + b"0" * (33 * 1024 * 1024)
    for headers in ({}, {"HX-Request": "true"}):
        response = client.post("/applications/new", headers=headers, content_type="multipart/form-data",
                               data={**application_form(), "attachments": (io.BytesIO(content), "大文件.pdf")})
        assert response.status_code == 413
        assert "合计不能超过 32 MB" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 0


def test_good_uploads_are_stored_with_their_hash_and_come_back_unchanged(client, app, applicant):
    from io import BytesIO

    data = {**application_form(), "attachments": [(BytesIO(PNG), "../../党员名册.PNG"), (BytesIO(PDF), "证明.pdf")]}
    client.post("/applications/new", data=data, content_type="multipart/form-data")
    with app.app_context():
        application = db.session.scalar(sa.select(Application))
        files = [(a.id, a.file.filename, a.file.sha256, a.file.content_type) for a in application.attachments]
        app_id = application.id
    assert files[0][1:] == ("党员名册.png", hashlib.sha256(PNG).hexdigest(), "image/png")
    assert files[1][1:] == ("证明.pdf", hashlib.sha256(PDF).hexdigest(), "application/pdf")
    download = client.get(f"/applications/{app_id}/attachments/{files[1][0]}/证明.pdf")
    assert download.data == PDF and download.mimetype == "application/pdf"


def _kept_ids(page: str) -> list[str]:
    return re.findall(r'name="kept_file" value="(\d+)"[^>]*checked', page)


def test_a_form_with_errors_keeps_its_uploads_and_the_next_save_attaches_them(client, app, applicant):
    from io import BytesIO

    form = application_form()
    form["member_joined"][1] = "去年"
    data = {**form, "attachments": [(BytesIO(PNG), "党员名册.png"), (BytesIO(b"MZ" + PNG), "setup.pdf"),
                                    (BytesIO(PDF), "证明.pdf")]}
    failed = client.post("/applications/new", data=data, content_type="multipart/form-data")
    page = failed.get_data(as_text=True)
    assert failed.status_code == 422 and "请填写入党日期" in page
    # The good files are listed as uploaded, each ticked; the bad one is refused by name.
    kept = _kept_ids(page)
    assert len(kept) == 2 and "党员名册.png" in page and "证明.pdf" in page
    assert "文件“setup.pdf”不是 PDF、JPG 或 PNG 文件" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 0

    # Failing again (nothing chosen this time) keeps the same files; the corrected form attaches them.
    again = client.post("/applications/new", data={**form, "kept_file": kept}, content_type="multipart/form-data")
    assert again.status_code == 422 and _kept_ids(again.get_data(as_text=True)) == kept
    # Ids that are not ids are ignored, not a server error.
    odd = client.post("/applications/new", data={**form, "kept_file": [*kept, "9" * 30, "x", "-1"]},
                      content_type="multipart/form-data")
    assert odd.status_code == 422 and _kept_ids(odd.get_data(as_text=True)) == kept
    saved = client.post("/applications/new", data={**application_form(), "kept_file": kept},
                        content_type="multipart/form-data")
    assert saved.status_code == 302
    with app.app_context():
        application = db.session.scalar(sa.select(Application))
        assert [(a.file.filename, a.file.sha256) for a in application.attachments] == [
            ("党员名册.png", hashlib.sha256(PNG).hexdigest()), ("证明.pdf", hashlib.sha256(PDF).hexdigest())]


def test_nobody_attaches_another_applicants_kept_file(client, app, applicant, login_as, make_org):
    from io import BytesIO

    form = application_form()
    form["member_joined"][0] = ""
    failed = client.post("/applications/new", data={**form, "attachments": [(BytesIO(PNG), "a.png")]},
                         content_type="multipart/form-data")
    theirs = _kept_ids(failed.get_data(as_text=True))
    assert len(theirs) == 1
    # Another applicant who posts the first one's kept file id gets nothing attached.
    client.post("/auth/logout")
    login_as(Role.APPLICANT, organisation=make_org(formal_members=4, probationary_members=1))
    # Their id, and values that are not ids at all ("²" is a digit to Python, but no number), attach nothing.
    assert client.post("/applications/new", data={**application_form(), "kept_file": [*theirs, "²", "-1", "1e3"]},
                       content_type="multipart/form-data").status_code == 302
    with app.app_context():
        application = db.session.scalar(sa.select(Application))
        assert application.attachments == []


def test_a_kept_file_never_attached_is_deleted_a_day_later(client, app, applicant):
    from io import BytesIO

    from models import StoredFile

    form = application_form()
    form["member_joined"][0] = ""
    first = _kept_ids(client.post("/applications/new", data={**form, "attachments": [(BytesIO(PNG), "a.png")]},
                                  content_type="multipart/form-data").get_data(as_text=True))
    with app.app_context():
        db.session.get(StoredFile, int(first[0])).created_at = utcnow() - timedelta(days=2)
        db.session.commit()
    second = _kept_ids(client.post("/applications/new", data={**form, "attachments": [(BytesIO(PDF), "b.pdf")]},
                                   content_type="multipart/form-data").get_data(as_text=True))
    with app.app_context():
        assert db.session.scalars(sa.select(StoredFile.id)).all() == [int(second[0])]


def test_the_same_file_sent_again_is_kept_and_attached_once(client, app, applicant):
    from io import BytesIO

    from models import StoredFile

    form = application_form()
    form["member_joined"][0] = ""
    kept = []
    for _ in range(3):  # three failed tries, the same file chosen each time beside the kept one
        page = client.post("/applications/new", data={**form, "kept_file": kept,
                                                       "attachments": [(BytesIO(PNG), "a.png")]},
                           content_type="multipart/form-data").get_data(as_text=True)
        kept = _kept_ids(page)
        assert len(kept) == 1
    saved = client.post("/applications/new", data={**application_form(), "kept_file": kept,
                                                    "attachments": [(BytesIO(PNG), "a.png")]},
                        content_type="multipart/form-data")
    assert saved.status_code == 302
    with app.app_context():
        assert len(db.session.scalar(sa.select(Application)).attachments) == 1
        assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 1


def test_kept_files_are_capped_per_applicant(client, applicant, monkeypatch):
    from io import BytesIO

    monkeypatch.setattr(verbs, "MAX_KEPT_UPLOADS", 2)
    form = application_form()
    form["member_joined"][0] = ""
    files = [(BytesIO(PNG + bytes([n])), f"{n}.png") for n in range(3)]
    page = client.post("/applications/new", data={**form, "attachments": files},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert len(_kept_ids(page)) == 2 and "暂存的附件已有 2 个" in page


def test_an_edit_with_errors_keeps_its_uploads_too(client, app, applicant):
    from io import BytesIO

    client.post("/applications/new", data=application_form())
    with app.app_context():
        application = db.session.scalar(sa.select(Application))
        app_id, version = application.id, application.version
    form = application_form(version=version, reasons="x" * 2001)
    failed = client.post(f"/applications/{app_id}/edit", data={**form, "attachments": [(BytesIO(PDF), "证明.pdf")]},
                         content_type="multipart/form-data")
    page = failed.get_data(as_text=True)
    assert failed.status_code == 422 and "不超过2000个字" in page and "x" * 2001 in page
    kept = _kept_ids(page)
    assert len(kept) == 1 and "证明.pdf" in page
    saved = client.post(f"/applications/{app_id}/edit", data={**application_form(version=version), "kept_file": kept},
                        content_type="multipart/form-data")
    assert saved.status_code == 302
    with app.app_context():
        assert [a.file.filename for a in db.session.get(Application, app_id).attachments] == ["证明.pdf"]


def test_a_double_click_takes_the_step_once(client, app, login_as, make_application):
    made = make_application("submitted")
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    first = client.post(f"/applications/{made.id}/steps/pass", data={"version": 1}, headers=HX)
    second = client.post(f"/applications/{made.id}/steps/pass", data={"version": 1}, headers=HX)
    assert first.status_code == 200
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert "已被他人处理" in page and "待党工委审批" in page and 'id="application-card"' in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ApplicationEvent.id))) == 1


def test_a_return_without_reason_is_refused_and_the_form_stays_open(client, login_as, make_application):
    made = make_application("submitted")
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    response = client.post(f"/applications/{made.id}/steps/return", data={"version": 1, "comment": " "},
                           headers=HX)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "退回修改须填写理由" in page
    assert re.search(r'<details class="step-form" name="card-action" id="step-return" open>\s*<summary class="btn btn-outline-danger">退回修改', page)


def test_without_javascript_a_step_redirects_to_the_page(client, login_as, make_application):
    made = make_application("submitted")
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    response = client.post(f"/applications/{made.id}/steps/pass", data={"version": 1})
    assert response.status_code == 302 and response.headers["Location"] == f"/applications/{made.id}"
    assert "已初审通过" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_approval_through_the_page_needs_an_instructor(client, app, login_as, make_application, make_instructor):
    made = make_application("unit_approved")
    instructor = make_instructor(name="敖日格乐")
    login_as(Role.ZONE_APPROVER)
    page = client.get(f"/applications/{made.id}").get_data(as_text=True)
    assert "敖日格乐（组织部）— 负责其他单位，已指导 0/3，尚未选派" in page
    refused = client.post(f"/applications/{made.id}/steps/approve", data={"version": 1, "instructor_id": 0},
                          headers=HX)
    assert refused.status_code == 422 and "须选派一名党建指导员" in refused.get_data(as_text=True)
    ok = client.post(f"/applications/{made.id}/steps/approve", data={"version": 1, "instructor_id": instructor.id},
                     headers=HX)
    assert ok.status_code == 200 and get(app, Application, made.id).instructor_id == instructor.id


@pytest.mark.parametrize("refusal, code, message", [
    (StaleDataError("UPDATE statement on table 'applications' expected to update 1 row(s); 0 were matched."), 409,
     "该事项已被他人处理，请刷新后查看最新状态。"),
    (SigningError("时间戳服务无应答，文件未能签名，请稍后重试。"), 503, "时间戳服务无应答，文件未能签名，请稍后重试。"),
])
def test_an_approval_that_lost_a_race_or_its_signature_is_answered_in_chinese(
        client, login_as, make_application, make_instructor, monkeypatch, refusal, code, message):
    """Two officials approving at once: the one who loses learns that the other acted (the race itself is
    tests/test_signing.py's); a timestamp authority down: the approval is not made, and the page says why."""
    made = make_application("unit_approved")
    instructor = make_instructor()
    login_as(Role.ZONE_APPROVER)

    def fails(*_args, **_kwargs):
        raise refusal
    monkeypatch.setattr(domain.applications, "issue_document", fails)
    answer = client.post(f"/applications/{made.id}/steps/approve", data={"version": 1, "instructor_id": instructor.id},
                         headers=HX)
    assert answer.status_code == code and message in answer.get_data(as_text=True)


@pytest.mark.parametrize("who", ["other_applicant", "other_reviewer", "instructor", "finance"])
def test_others_cannot_see_an_application(client, login_as, make_application, who):
    made = make_application("submitted")
    if who == "other_applicant":
        login_as(Role.APPLICANT)
    elif who == "other_reviewer":
        login_as(Role.UNIT_REVIEWER, unit_code="street_west")
    else:
        login_as(Role.INSTRUCTOR if who == "instructor" else Role.FINANCE)
    assert client.get(f"/applications/{made.id}").status_code == 404
    assert client.post(f"/applications/{made.id}/steps/pass", data={"version": 1}).status_code == 404


@pytest.mark.parametrize("role", [Role.UNIT_REVIEWER, Role.ZONE_APPROVER])
def test_a_draft_stays_the_applicants_own_until_submitted(app, client, login_as, make_application, make_user,
                                                          role):
    draft, submitted, discarded = make_application("draft"), make_application("submitted"), make_application("draft")
    contact = make_user(Role.APPLICANT, organisation=discarded.organisation)
    with app.app_context():  # withdrawn before it was ever submitted: still nobody else's business
        verbs.withdraw_application(db.session.get(Application, discarded.id), actor=db.session.get(User, contact.id),
                                   version=discarded.version)
        db.session.commit()
    login_as(role)
    assert client.get(f"/applications/{draft.id}").status_code == 404
    assert client.get(f"/applications/{discarded.id}").status_code == 404
    listed = client.get("/applications/?state=all").get_data(as_text=True)
    assert submitted.organisation.name in listed
    assert draft.organisation.name not in listed and discarded.organisation.name not in listed


def test_a_reviewer_cannot_take_the_zones_step(client, app, login_as, make_application):
    made = make_application("unit_approved")
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    response = client.post(f"/applications/{made.id}/steps/reject", data={"version": 1, "comment": "x"}, headers=HX)
    assert response.status_code == 422 and "您无权对该申请执行“不予批准”" in response.get_data(as_text=True)
    assert get(app, Application, made.id).state is AppState.UNIT_APPROVED


def test_internal_notes_are_for_officials_only(client, app, login_as, make_application, make_user):
    made = make_application("submitted")
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    client.post(f"/applications/{made.id}/steps/return",
                data={"version": 1, "comment": "请补充组织关系证明", "internal_note": "该企业曾被投诉"})
    assert "该企业曾被投诉" in client.get(f"/applications/{made.id}").get_data(as_text=True)
    client.post("/auth/logout")
    login_as(Role.APPLICANT, organisation=made.organisation)
    page = client.get(f"/applications/{made.id}").get_data(as_text=True)
    assert "请补充组织关系证明" in page and "该企业曾被投诉" not in page


def test_inbox_shows_my_units_waiting_applications_oldest_first_and_marks_overdue(
        client, app, login_as, make_application):
    old = make_application("submitted")
    new = make_application("submitted")
    make_application("submitted", unit_code="street_west")
    make_application("unit_approved")
    with app.app_context():
        db.session.get(Application, old.id).state_changed_at = utcnow() - timedelta(days=9)
        db.session.commit()
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    page = client.get("/applications/").get_data(as_text=True)
    assert page.index(old.organisation.name) < page.index(new.organisation.name)
    assert page.count('class="table-warning"') == 1 and "超期" in page
    assert page.count("/applications/") >= 2 and "待党工委审批</span>" not in page
    found = client.get(f"/applications/?q={new.organisation.credit_code[-6:]}", headers=HX).get_data(as_text=True)
    assert new.organisation.name in found and old.organisation.name not in found
    assert found.lstrip().startswith('<div id="inbox-table">')


def test_inbox_pages_by_fifty(client, app, login_as, make_org):
    from models import Application as A, PartyOrgKind, utcnow

    orgs = [make_org() for _ in range(51)]
    with app.app_context():
        for org in orgs:
            db.session.add(A(organisation_id=org.id, unit_id=org.unit_id, state=AppState.SUBMITTED,
                             submitted_at=utcnow(), requested_kind=PartyOrgKind.BRANCH))
        db.session.commit()
    login_as(Role.ZONE_APPROVER)
    first = client.get("/applications/?state=all").get_data(as_text=True)
    assert "共 51 条" in first
    # Each row links to its own application, and the pager to the next page with the filters kept.
    with app.app_context():
        ids = set(db.session.scalars(sa.select(A.id)))
    linked = [int(i) for i in re.findall(r'<a href="/applications/(\d+)">', first)]
    assert len(linked) == len(set(linked)) == 50 and set(linked) <= ids
    assert 'href="/applications/?state=all&amp;unit_id=&amp;kind=&amp;q=&amp;page=2"' in first
    second = client.get("/applications/?state=all&page=2").get_data(as_text=True)
    assert second.count('<a href="/applications/') == 1
    assert re.findall(r'<a href="/applications/(\d+)">', second) == [str(i) for i in ids - set(linked)]
    # A page past the last (a bookmark, the last row just handled) shows the last page, not "no applications".
    past = client.get("/applications/?state=all&page=7").get_data(as_text=True)
    assert re.findall(r'<a href="/applications/(\d+)">', past) == re.findall(r'<a href="/applications/(\d+)">', second)
    assert "没有符合条件的申请" not in past


def test_inbox_filters_each_shape_for_each_user(app, make_application, make_user):
    """The inbox's statements are built once per role and filter shape (domain/inbox.py): each user's links and
    each filter's values are parameters, so the second reviewer sees their own unit, not the first one's."""
    from domain.inbox import InboxFilter, inbox
    from models import Organisation, OrgKind, Unit

    made = {key: make_application(state, unit_code=unit) for key, state, unit in [
        ("chem", "submitted", "industrial_park"), ("league", "unit_approved", "street_west"),
        ("tech", "submitted", "street_west"), ("draft", "draft", "street_west")]}
    zone, park, west = (make_user(Role.ZONE_APPROVER), make_user(Role.UNIT_REVIEWER, unit_code="industrial_park"),
                        make_user(Role.UNIT_REVIEWER, unit_code="street_west"))
    with app.app_context():
        for key, name, kind in [("chem", "星河化工有限公司", OrgKind.ENTERPRISE),
                                ("league", "星河_商户联合会", OrgKind.SOCIAL_ORG), ("tech", "蓝天科技", OrgKind.ENTERPRISE)]:
            org = db.session.get(Organisation, made[key].organisation_id)
            org.name, org.kind = name, kind
        db.session.commit()
        west_id = db.session.scalar(sa.select(Unit.id).filter_by(code="street_west"))
        tech_code = made["tech"].organisation.credit_code

        def listed(user, **f):
            page = inbox(db.session.get(User, user.id), InboxFilter(**f))
            assert page.total == len(page.items)
            return {key for key, a in made.items() if a.id in {row.id for row in page.items}}

        assert listed(zone) == {"league"}  # waiting on the zone
        assert listed(zone, state="all") == {"chem", "league", "tech"}  # never the unsubmitted draft
        assert listed(zone, state="submitted") == {"chem", "tech"}
        assert listed(zone, state="all", unit_id=west_id) == {"league", "tech"}
        assert listed(zone, state="all", kind="social_org") == {"league"}
        assert listed(zone, state="all", q="星河_") == {"league"}  # "_" is a character, not a wildcard
        assert listed(zone, state="all", q=tech_code[-6:].lower()) == {"tech"}  # codes match in any case
        assert listed(zone, state="submitted", unit_id=west_id, kind="enterprise", q="蓝天") == {"tech"}
        assert listed(park, state="all") == {"chem"} and listed(west, state="all") == {"league", "tech"}
        assert listed(park) == {"chem"} and listed(west) == {"tech"}


def test_a_changed_row_of_the_inbox_is_shown_changed(client, app, login_as, make_application):
    """The inbox's rows are rendered once per content (cached_rows): a row whose organisation is renamed,
    whose state moves or which becomes overdue is a new row."""
    from models import Organisation

    made = make_application("unit_approved")
    login_as(Role.ZONE_APPROVER)
    before = client.get("/applications/?state=all").get_data(as_text=True)
    overdue = '<span class="badge text-bg-danger">超期</span>'
    assert made.organisation.name in before and overdue not in before
    with app.app_context():
        db.session.get(Organisation, made.organisation_id).name = "改名后的企业"
        db.session.get(Application, made.id).state_changed_at = utcnow() - timedelta(days=30)
        db.session.commit()
    after = client.get("/applications/?state=all").get_data(as_text=True)
    assert "改名后的企业" in after and made.organisation.name not in after and overdue in after
    with app.app_context():
        db.session.get(Application, made.id).state = AppState.RETURNED
        db.session.commit()
    moved = client.get("/applications/?state=all").get_data(as_text=True)
    assert f">{AppState.RETURNED.label}</span>" in moved and overdue not in moved


def test_a_reviewer_is_shown_no_row_the_zones_list_kept(app, make_user, make_application):
    """The zone's list keeps every row it rendered (blueprints/web/row_cache.py); a reviewer's list, rendered after
    it by the same app, shows only its own unit's rows."""
    from tests.conftest import PASSWORD

    park, east = make_application("submitted"), make_application("submitted", unit_code="street_east")
    zone, reviewer = make_user(Role.ZONE_APPROVER), make_user(Role.UNIT_REVIEWER, unit_code="street_east")
    pages = {}
    for user in (zone, reviewer):
        client = app.test_client()
        assert client.post("/auth/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
        pages[user.role] = client.get("/applications/?state=all").get_data(as_text=True)
    assert park.organisation.name in pages[Role.ZONE_APPROVER] and east.organisation.name in pages[Role.ZONE_APPROVER]
    assert east.organisation.name in pages[Role.UNIT_REVIEWER] and park.organisation.name not in pages[Role.UNIT_REVIEWER]


def test_the_unit_filter_shows_a_renamed_unit_on_the_next_page(client, app, login_as):
    """The filters read the units' names with each page: no worker keeps an old one."""
    from models import Unit

    login_as(Role.ZONE_APPROVER)
    assert ">东城街道区域党工委</option>" in client.get("/applications/?state=all").get_data(as_text=True)
    with app.app_context():
        db.session.scalar(sa.select(Unit).filter_by(code="street_east")).name = "东城街道党工委"
        db.session.commit()
    renamed = client.get("/applications/?state=all").get_data(as_text=True)
    assert ">东城街道党工委</option>" in renamed and "东城街道区域党工委" not in renamed


def test_a_list_reads_what_this_request_changed_before_it_was_flushed(app, make_user, make_application):
    """The lists' rows and counters are read after a flush, as every query of the session: a notification added
    in this request counts at once."""
    from domain.inbox import nav_counts

    made, application = make_user(Role.ZONE_APPROVER), make_application("submitted")
    with app.app_context():
        user = db.session.get(User, made.id)
        before = nav_counts(user)[1]
        db.session.add(Notification(user_id=user.id, application_id=application.id, message="新的申请"))
        assert nav_counts(user)[1] == before + 1


def test_overdue_is_measured_from_one_moment_and_only_where_an_official_owes_the_step():
    from types import SimpleNamespace

    from domain.inbox import overdue_ids

    now = utcnow()
    rows = [SimpleNamespace(id=1, state=AppState.SUBMITTED, state_changed_at=now - timedelta(days=5, minutes=1)),
            SimpleNamespace(id=2, state=AppState.SUBMITTED, state_changed_at=now - timedelta(days=4, hours=23)),
            SimpleNamespace(id=3, state=AppState.RETURNED, state_changed_at=now - timedelta(days=50)),
            SimpleNamespace(id=4, state=AppState.ELECTION_REPORTED, state_changed_at=now - timedelta(days=6))]
    assert overdue_ids(rows, 5) == {1, 4}


def test_the_counters_are_each_users_own(app, make_application, make_user):
    """The counters' query is built once per role with the user's links as parameters: two reviewers of two
    units, and two users of one role, each get their own figures, whichever asked first."""
    from domain.inbox import nav_counts

    east_app = make_application("submitted", unit_code="street_east")
    for _ in range(2):
        make_application("submitted", unit_code="industrial_park")
    make_application("unit_approved")
    east, park = make_user(Role.UNIT_REVIEWER, unit_code="street_east"), make_user(Role.UNIT_REVIEWER)
    zone, other_zone = make_user(Role.ZONE_APPROVER), make_user(Role.ZONE_APPROVER)
    instructor, contact, finance = make_user(Role.INSTRUCTOR), make_user(Role.APPLICANT), make_user(Role.FINANCE)
    with app.app_context():
        db.session.add_all([Notification(user_id=user.id, application_id=east_app.id, message="x")
                            for user in (zone, instructor, instructor, contact, contact, contact)])
        db.session.commit()
        users = (east, park, zone, other_zone, instructor, contact, finance)
        counts = {u.username: nav_counts(db.session.get(User, u.id)) for u in users}
    # Nothing waits on an instructor, a contact or finance in the workflow (WAITING_ON): their first figure is 0.
    assert counts == {east.username: (1, 0, 0), park.username: (2, 0, 0), zone.username: (1, 1, 0),
                      other_zone.username: (1, 0, 0), instructor.username: (0, 2, 0), contact.username: (0, 3, 0),
                      finance.username: (0, 0, 0)}


def test_counters_and_notifications(client, app, login_as, make_application, make_user):
    from tests.conftest import PASSWORD

    made = make_application("submitted")
    contact = make_user(Role.APPLICANT, organisation=made.organisation)  # exists when the return happens
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    badges = client.get("/applications/badges").get_data(as_text=True)
    assert re.search(r'id="inbox-count"[^>]*hx-swap-oob="true"><span class="visually-hidden">待办件数</span>1<', badges)
    client.post(f"/applications/{made.id}/steps/return", data={"version": 1, "comment": "缺少附件"})
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": contact.username, "password": PASSWORD})
    page = client.get("/applications/notifications").get_data(as_text=True)
    assert "退回修改。缺少附件" in page and "未读" in page
    assert re.search(r'id="bell-count"[^>]*><span class="visually-hidden">未读通知</span>1<', page)
    client.post("/applications/notifications/read")
    with app.app_context():
        assert db.session.scalar(sa.select(Notification.read_at).where(Notification.user_id == contact.id))


def test_applicant_home_guides_to_the_next_step(client, applicant):
    page = client.get("/applicant/").get_data(as_text=True)
    assert "申请成立党组织" in page and "/applications/new" in page
    client.post("/applications/new", data=application_form())
    page = client.get("/applicant/").get_data(as_text=True)
    assert "请完善申请内容后提交" in page and "查看和办理申请" in page


def test_officials_cannot_open_the_applicant_form(client, login_as):
    login_as(Role.ZONE_APPROVER)
    assert client.get("/applications/new").status_code == 403


def test_edit_after_return_and_resubmit(client, app, login_as, make_application):
    made = make_application("returned")
    login_as(Role.APPLICANT, organisation=made.organisation)
    form = client.get(f"/applications/{made.id}/edit").get_data(as_text=True)
    assert 'value="党员1"' in form
    response = client.post(f"/applications/{made.id}/edit",
                           data={**application_form(formal=5, probationary=1), "version": 1, "submit": "1"},
                           follow_redirects=True)
    assert "申请已提交" in response.get_data(as_text=True)
    assert get(app, Application, made.id).state is AppState.SUBMITTED
    stale = client.post(f"/applications/{made.id}/edit", data={**application_form(), "version": 1})
    assert stale.status_code == 302  # no longer editable: sent to the page with a message


def test_finance_lists_no_applications(client, login_as, make_application):
    make_application("submitted")
    login_as(Role.FINANCE)
    page = client.get("/applications/?state=all").get_data(as_text=True)
    assert "共 " not in page and "没有符合条件的申请" in page


def test_garbage_versions_and_huge_ids_are_not_crashes(client, login_as, make_application):
    made = make_application("submitted")
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    stale = client.post(f"/applications/{made.id}/steps/pass", data={"version": "abc"}, headers=HX)
    assert stale.status_code == 409 and "已被他人处理" in stale.get_data(as_text=True)
    assert client.get("/applications/99999999999999999999").status_code == 404
    assert client.get("/applications/?page=99999999999999999999").status_code in (200, 404)
    forward = client.post(f"/applications/{made.id}/steps/forward",
                          data={"version": 1, "unit_id": "99999999999999999999", "comment": "x"}, headers=HX)
    assert forward.status_code in (404, 422)


def test_the_credit_code_example_passes_its_own_check_digit():
    """A hint's example is one the form would accept (python-stdnum checks the 统一社会信用代码)."""
    import re

    from stdnum.cn import uscc

    from blueprints.forms import RegistrationForm

    examples = re.findall(r"[0-9A-Z]{18}", str(RegistrationForm.credit_code.kwargs["description"]))
    assert examples and all(uscc.is_valid(e) for e in examples)
