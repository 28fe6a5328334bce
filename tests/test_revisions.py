"""What a resubmitted application changed since the version an official returned: the difference itself
(domain/revisions.py), the snapshot a return keeps, and who sees the changes on the card."""
import pytest

from domain import applications as verbs
from domain.revisions import Change, FileRef, MemberChange, diff_versions, resubmission_of
from models import Application, ApplicationEvent, Role, User, db

PDF = b"%PDF-1.4\n%proof\n"
HX = {"HX-Request": "true"}


def version(**fields) -> dict:
    base = {"requested_kind": "branch", "formal_members": 3, "probationary_members": 0,
            "proposed_secretary": "张三", "partner_organisations": "", "work_need": False, "reasons": "党员人数已够"}
    return {"fields": {**base, **fields.pop("fields", {})},
            "members": fields.pop("members", [member("张三"), member("李四"), member("王五")]),
            "attachments": fields.pop("attachments", [{"filename": "证明.pdf", "sha256": "a" * 64}])}


def member(name, gender="male", joined_on="2012-07-01", status="formal") -> dict:
    return {"name": name, "gender": gender, "joined_on": joined_on, "status": status}


def test_the_same_version_has_no_changes():
    changes = diff_versions(version(), version())
    assert changes.none and changes.fields == [] and changes.members_added == []


def test_changed_fields_read_old_and_new_in_the_cards_words():
    changes = diff_versions(version(), version(fields={"requested_kind": "branch_committee", "formal_members": 7,
                                                       "reasons": "补充了党员名单", "work_need": True}))
    assert changes.fields == [Change("申请成立", "党支部", "党支部委员会"), Change("正式党员人数", "3 名", "7 名"),
                              Change("因工作需要申请", "否", "是"), Change("申请理由", "党员人数已够", "补充了党员名单")]


def test_members_added_removed_and_changed_are_told_apart():
    old = version(members=[member("张三"), member("李四"), member("王五")])
    new = version(members=[member("张三"), member("李四", joined_on="2013-07-01", status="probationary"),
                           member("赵六", gender="female")])
    changes = diff_versions(old, new)
    assert changes.members_added == ["赵六（女，2012年7月1日入党，正式党员）"]
    assert changes.members_removed == ["王五（男，2012年7月1日入党，正式党员）"]
    assert changes.members_changed == [MemberChange("李四", (Change("入党日期", "2012年7月1日", "2013年7月1日"),
                                                             Change("类别", "正式党员", "预备党员")))]
    assert changes.fields == []


def test_a_reordered_member_list_is_no_change():
    old = version(members=[member("张三"), member("李四")])
    assert diff_versions(old, version(members=[member("李四"), member("张三")])).none


def test_two_members_of_one_name_pair_in_order():
    old = version(members=[member("张伟"), member("张伟", joined_on="2001-07-01")])
    new = version(members=[member("张伟"), member("张伟", joined_on="2002-07-01")])
    assert diff_versions(old, new).members_changed == [
        MemberChange("张伟", (Change("入党日期", "2001年7月1日", "2002年7月1日"),))]


def test_attachments_are_matched_by_fingerprint_not_by_name():
    old = version(attachments=[{"filename": "证明.pdf", "sha256": "a" * 64}, {"filename": "名单.pdf", "sha256": "b" * 64}])
    new = version(attachments=[{"filename": "证明（改名）.pdf", "sha256": "a" * 64},
                               {"filename": "名单.pdf", "sha256": "c" * 64}])
    changes = diff_versions(old, new)
    assert changes.attachments_added == [FileRef("名单.pdf", "c" * 64)]
    assert changes.attachments_removed == [FileRef("名单.pdf", "b" * 64)]
    assert not changes.fields and not changes.members_changed


# ---------------------------------------------------------------- the snapshot a return keeps

def returned_and_resubmitted(app, make_application, make_user, *, edit=True, actor_role=Role.UNIT_REVIEWER):
    """A submitted application with one attachment, returned by `actor_role`, then (edited and) resubmitted."""
    state = "submitted" if actor_role is Role.UNIT_REVIEWER else "unit_approved"
    made = make_application(state)
    official = make_user(actor_role)
    contact = make_user(Role.APPLICANT, organisation=made.organisation)
    with app.app_context():
        application = db.session.get(Application, made.id)
        applicant = db.session.get(User, contact.id)
        # The attachment belongs to the version the official sees (added straight: the state is past editing).
        from domain.files import store_upload
        from models import Attachment
        db.session.add(Attachment(application=application, file=store_upload("组织关系证明.pdf", PDF, actor=applicant)))
        db.session.flush()
        verbs.return_application(application, actor=db.session.get(User, official.id), comment="请补充党员名单",
                                 version=application.version)
        if edit:
            data = verbs.ApplicationData(
                requested_kind=application.requested_kind, formal_members=5, probationary_members=1,
                proposed_secretary="党员1", reasons="已补充党员名单", members=[
                    verbs.MemberRow(m.name, m.gender, m.joined_on, m.status) for m in application.members])
            data.members[1].name = "党员二"
            verbs.save_application(application, data, actor=applicant, version=application.version)
            verbs.remove_attachment(application, application.attachments[0], actor=applicant,
                                    version=application.version)
            verbs.add_attachment(application, "党员名单.pdf", PDF + b"list", actor=applicant,
                                 version=application.version)
        verbs.submit_application(application, actor=applicant, version=application.version)
        db.session.commit()
    return made, contact


def test_a_return_keeps_what_the_official_saw(app, ctx, make_application, make_user):
    made, _ = returned_and_resubmitted(app, make_application, make_user, edit=False)
    returned = ctx.query(ApplicationEvent).filter_by(application_id=made.id, action="return").one()
    assert [m["name"] for m in returned.snapshot["members"]] == [f"党员{i}" for i in range(1, 7)]
    assert returned.snapshot["attachments"][0]["filename"] == "组织关系证明.pdf"
    assert returned.snapshot["fields"]["reasons"] == "党员人数已符合条件"
    submit = ctx.query(ApplicationEvent).filter_by(application_id=made.id, action="submit").one()
    assert submit.snapshot is None


def test_resubmission_lists_what_changed_since_the_return(app, ctx, make_application, make_user):
    made, _ = returned_and_resubmitted(app, make_application, make_user)
    resubmission = resubmission_of(ctx.get(Application, made.id))
    assert resubmission.returned.comment == "请补充党员名单"
    changes = resubmission.changes
    assert changes.fields == [Change("申请理由", "党员人数已符合条件", "已补充党员名单")]
    assert changes.members_added == ["党员二（男，2010年7月1日入党，正式党员）"]
    assert changes.members_removed == ["党员2（男，2010年7月1日入党，正式党员）"]
    assert [f.filename for f in changes.attachments_added] == ["党员名单.pdf"]
    assert [f.filename for f in changes.attachments_removed] == ["组织关系证明.pdf"]


def test_no_resubmission_while_the_applicant_still_edits(app, ctx, make_application, make_user):
    made = make_application("submitted")
    reviewer = make_user(Role.UNIT_REVIEWER)
    application = ctx.get(Application, made.id)
    verbs.return_application(application, actor=ctx.get(User, reviewer.id), comment="请补充",
                             version=application.version)
    assert resubmission_of(application) is None


# ---------------------------------------------------------------- who sees it on the card

@pytest.mark.parametrize("role", [Role.UNIT_REVIEWER, Role.ZONE_APPROVER])
def test_the_reviewer_and_the_zone_see_what_changed(client, app, make_application, make_user, login_as, role):
    made, _ = returned_and_resubmitted(app, make_application, make_user)
    if role is Role.ZONE_APPROVER:
        reviewer = make_user(Role.UNIT_REVIEWER)
        with app.app_context():
            application = db.session.get(Application, made.id)
            verbs.pass_application(application, actor=db.session.get(User, reviewer.id), version=application.version)
            db.session.commit()
    login_as(role)
    page = client.get(f"/applications/{made.id}").get_data(as_text=True)
    assert "与退回时相比的修改" in page and "请补充党员名单" in page
    assert "<del>党员人数已符合条件</del> → <ins>已补充党员名单</ins>" in page
    assert "新增党员</strong>：<ins>党员二（男，2010年7月1日入党，正式党员）</ins>" in page
    assert "删除附件</strong>：<del>组织关系证明.pdf</del>" in page


def test_a_resubmission_without_changes_says_so(client, app, make_application, make_user, login_as):
    made, _ = returned_and_resubmitted(app, make_application, make_user, edit=False)
    login_as(Role.UNIT_REVIEWER)
    page = client.get(f"/applications/{made.id}", headers=HX).get_data(as_text=True)
    assert "申请人未作任何修改" in page


def test_the_applicant_does_not_get_the_changes(client, app, make_application, make_user):
    from tests.conftest import sign_in_directly

    made, contact = returned_and_resubmitted(app, make_application, make_user)
    sign_in_directly(app, client, contact.id)
    page = client.get(f"/applications/{made.id}").get_data(as_text=True)
    assert "与退回时相比的修改" not in page and "党员人数已符合条件" not in page


def test_another_units_reviewer_gets_nothing(client, app, make_application, make_user, login_as):
    made, _ = returned_and_resubmitted(app, make_application, make_user)
    login_as(Role.UNIT_REVIEWER, unit_code="street_east")
    response = client.get(f"/applications/{made.id}")
    assert response.status_code == 404 and "党员人数已符合条件" not in response.get_data(as_text=True)
