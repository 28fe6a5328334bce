"""The instructors: ranking, capacity, reassignment, deactivation, import, visits and the 六建六送 checklist."""
from datetime import date, timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa

from domain import DomainError, guidance
from domain.instructors import (
    ImportRefused, assign_instructor, bulk_assign, import_instructors, reassign_instructor, set_instructor_active,
    suggest_instructors,
)
from domain.reference import list_units
from models import Application, Assignment, ChecklistItem, Delivery, GuidanceVisit, Instructor, Role, User, db, utcnow
from tests.conftest import unit_by_code, zone_today


def _get(model, id_):
    return db.session.get(model, id_)


def test_ranking_puts_the_unit_first_then_capacity_then_load_then_longest_idle(
        ctx, make_application, make_instructor, make_user):
    # Everything is made first: on SQLite the factories' own sessions cannot write after this one has.
    made_target = make_application("unit_approved", unit_code="logistics_park")
    zone_id = make_user(Role.ZONE_APPROVER).id
    ids = {name: make_instructor(name=name, capacity=1 if name == "甲" else 3).id for name in "甲乙丙丁戊"}
    others = [make_application("approved").id for _ in range(2)]
    target, zone = _get(Application, made_target.id), _get(User, zone_id)
    people = {name: _get(Instructor, id_) for name, id_ in ids.items()}
    for name in "甲乙":
        people[name].units = [unit_by_code("logistics_park")]
    # 甲 is full (1/1); 丁 was assigned and moved on, their organisation now 戊's (丁: 0 now, but busy more
    # recently than 丙; 戊 guides one).
    for name, other_id in zip("甲丁", others):
        other = _get(Application, other_id)
        db.session.execute(sa.update(Assignment).where(Assignment.application_id == other.id).values(ended_at=utcnow()))
        assign_instructor(other, people[name], actor=zone)
    assign_instructor(_get(Application, others[1]), people["戊"], actor=zone)
    db.session.flush()
    ranked = [s.instructor.name for s in suggest_instructors(target) if s.instructor.name in ids]
    assert ranked == ["乙", "甲", "丙", "丁", "戊"]
    first = suggest_instructors(target)[0]
    assert first.why == "负责本单位，已指导 0/3，尚未选派"
    full = next(s for s in suggest_instructors(target) if s.instructor.name == "甲")
    assert full.full and full.why.endswith("已满额")


def test_over_capacity_needs_a_reason_which_is_recorded(ctx, make_application, make_instructor, make_user):
    zone_id, instructor_id = make_user(Role.ZONE_APPROVER).id, make_instructor(capacity=1).id
    first_id, second_id = make_application("approved").id, make_application("unit_approved").id
    zone, instructor = _get(User, zone_id), _get(Instructor, instructor_id)
    first, second = _get(Application, first_id), _get(Application, second_id)
    assign_instructor(first, instructor, actor=zone)
    with pytest.raises(DomainError, match="已满额") as refused:
        assign_instructor(second, instructor, actor=zone)
    assert refused.value.field == "reason"
    assignment = assign_instructor(second, instructor, actor=zone, reason="熟悉该行业")
    assert assignment.over_capacity and assignment.reason == "熟悉该行业"


def test_reassignment_keeps_the_history(ctx, make_application, make_instructor, make_user):
    zone_id, made, newcomer_id = make_user(Role.ZONE_APPROVER).id, make_application("approved"), \
        make_instructor(name="新指导员").id
    zone, application, newcomer = _get(User, zone_id), _get(Application, made.id), _get(Instructor, newcomer_id)
    first_id = application.instructor_id
    with pytest.raises(DomainError, match="须填写理由"):
        reassign_instructor(application, newcomer, actor=zone, reason=" ")
    reassign_instructor(application, newcomer, actor=zone, reason="原指导员调任")
    db.session.commit()
    history = db.session.execute(sa.select(Assignment.instructor_id, Assignment.ended_at.is_(None))
                                 .where(Assignment.application_id == application.id).order_by(Assignment.id)).all()
    assert history == [(first_id, False), (newcomer.id, True)]
    assert application.instructor_id == newcomer.id
    with pytest.raises(DomainError, match="已是该组织的指导员"):
        reassign_instructor(application, newcomer, actor=zone, reason="x")


def test_deactivation_waits_for_reassignment(ctx, make_application, make_instructor, make_user):
    zone_id, admin_id, made, spare_id = make_user(Role.ZONE_APPROVER).id, make_user(Role.ADMIN).id, \
        make_application("established"), make_instructor().id
    zone, admin, application = _get(User, zone_id), _get(User, admin_id), _get(Application, made.id)
    leaving = application.instructor
    with pytest.raises(DomainError, match="仍在指导 1 个组织，请先将这些组织改派"):
        set_instructor_active(leaving, False, actor=admin)
    reassign_instructor(application, _get(Instructor, spare_id), actor=zone, reason="调任")
    set_instructor_active(leaving, False, actor=admin)
    assert not leaving.active
    with pytest.raises(DomainError, match="已停用"):
        assign_instructor(application, leaving, actor=zone)


def test_bulk_assignment_never_silently_replaces(ctx, make_application, make_instructor, make_user):
    zone_id, app_ids, chosen_id = make_user(Role.ZONE_APPROVER).id, \
        [make_application("approved").id for _ in range(2)], make_instructor(capacity=10).id
    zone, chosen = _get(User, zone_id), _get(Instructor, chosen_id)
    apps = [_get(Application, i) for i in app_ids]
    done, skipped = bulk_assign(apps, chosen, actor=zone, reason="集中指导", replace=False)
    assert done == [] and skipped == apps
    done, skipped = bulk_assign(apps, chosen, actor=zone, reason="集中指导", replace=True)
    assert done == apps and skipped == [] and all(a.instructor_id == chosen.id for a in apps)


def _xlsx(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def test_import_reports_every_bad_row_and_writes_nothing(ctx, make_user):
    admin = _get(User, make_user(Role.ADMIN).id)
    before = db.session.scalar(sa.select(sa.func.count(Instructor.id)))
    content = _xlsx([["姓名", "派出单位", "联系电话", "负责初审单位", "最多指导组织数"],
                     ["张三", "组织部", "13904751234", "新型工业园区党委、综合物流园区党委", 3],
                     ["", "组织部", "", "", ""],
                     ["李四", "组织部", "123", "", ""],
                     ["王五", "组织部", "", "不存在的单位", ""],
                     ["赵六", "组织部", "", "", "很多"]])
    with pytest.raises(ImportRefused) as refused:
        import_instructors("导入.xlsx", content, list_units(), 3, actor=admin)
    assert [p.split("：")[0] for p in refused.value.problems] == ["第 3 行", "第 4 行", "第 5 行", "第 6 行"]
    assert "没有名为“不存在的单位”的初审单位" in refused.value.problems[2]
    assert db.session.scalar(sa.select(sa.func.count(Instructor.id))) == before


def test_import_of_a_good_file_in_gb18030_csv(ctx, make_user):
    admin = _get(User, make_user(Role.ADMIN).id)
    csv = "姓名,派出单位,联系电话,负责初审单位,最多指导组织数\n张三,组织部,0475-8123456,东城街道区域党工委,\n李四,财政局,,,5\n"
    assert import_instructors("导入.csv", csv.encode("gb18030"), list_units(), 4, actor=admin) == 2
    zhang = db.session.scalar(sa.select(Instructor).filter_by(name="张三"))
    assert (zhang.capacity, [u.code for u in zhang.units], zhang.phone) == (4, ["street_east"], "0475-8123456")


def test_visits_are_recorded_by_the_current_instructor(ctx, make_application, make_user):
    made, mine_id, other_id = make_application("approved"), make_user(Role.INSTRUCTOR).id, \
        make_user(Role.INSTRUCTOR).id
    application, mine, other = _get(Application, made.id), _get(User, mine_id), _get(User, other_id)
    mine.instructor_id = application.instructor_id
    visit = guidance.VisitData(zone_today(), guidance.VisitForm.PHONE, "指导建立组织生活制度")
    with pytest.raises(DomainError, match="只有该组织的党建指导员"):
        guidance.record_visit(application, visit, actor=other)
    with pytest.raises(DomainError, match="不能晚于今天"):
        guidance.record_visit(application, guidance.VisitData(zone_today() + timedelta(days=1),
                                                              guidance.VisitForm.PHONE, "x"), actor=mine)
    guidance.record_visit(application, visit, actor=mine)
    assert db.session.scalar(sa.select(GuidanceVisit.topics)) == "指导建立组织生活制度"


def test_an_early_morning_visit_in_the_zone_is_dated_today_on_a_utc_server(ctx, make_application, make_user,
                                                                           monkeypatch):
    """At 07:30 in the zone (23:30 UTC the day before) the instructor's "today" is the zone's: a visit dated
    that day is not "after today" although a UTC server's date.today() still says the day before."""
    from datetime import datetime, time, timezone

    import models.base
    from domain import zone_time

    utc_day = datetime.now(timezone.utc).date()  # the assignment below is made today, UTC

    class At0730InTheZone(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.combine(utc_day, time(23, 30), timezone.utc).astimezone(tz)

    monkeypatch.setattr(models.base, "datetime", At0730InTheZone)  # the records' clock, which zone_time reads
    zone_day = utc_day + timedelta(days=1)
    assert zone_time.local_today() == zone_day
    made, mine_id = make_application("approved"), make_user(Role.INSTRUCTOR).id
    application, mine = _get(Application, made.id), _get(User, mine_id)
    mine.instructor_id = application.instructor_id
    guidance.record_visit(application, guidance.VisitData(zone_day, guidance.VisitForm.PHONE, "早班走访"), actor=mine)
    with pytest.raises(DomainError, match="不能晚于今天"):
        guidance.record_visit(application, guidance.VisitData(zone_day + timedelta(days=1), guidance.VisitForm.PHONE,
                                                              "x"), actor=mine)


def test_a_visit_may_not_predate_the_assignment_by_the_zone_calendar(ctx, make_application, make_user):
    """Assigned at 01:00 on 11 March in the zone (17:00 UTC on the 10th): the card shows 2026-03-11 as the day
    the instructor took over, and the visit's earliest date is that day, not the UTC date before it."""
    from datetime import datetime, timezone

    made, mine_id = make_application("approved"), make_user(Role.INSTRUCTOR).id
    application, mine = _get(Application, made.id), _get(User, mine_id)
    mine.instructor_id = application.instructor_id
    assignment = db.session.scalar(sa.select(Assignment).filter_by(application_id=application.id, ended_at=None))
    assignment.assigned_at = datetime(2026, 3, 10, 17, 0, tzinfo=timezone.utc)
    with pytest.raises(DomainError, match="指导日期不能早于选派党建指导员的日期（2026年3月11日）"):
        guidance.record_visit(application, guidance.VisitData(date(2026, 3, 10), guidance.VisitForm.PHONE, "x"),
                              actor=mine)
    guidance.record_visit(application, guidance.VisitData(date(2026, 3, 11), guidance.VisitForm.PHONE, "首次走访"),
                          actor=mine)


def test_overdue_visits():
    assigned = date(2026, 1, 1)
    assert not guidance.visit_overdue(None, assigned, 30, today=date(2026, 1, 31))
    assert guidance.visit_overdue(None, assigned, 30, today=date(2026, 2, 1))
    assert not guidance.visit_overdue(date(2026, 3, 1), assigned, 30, today=date(2026, 3, 20))


def test_checklist(ctx, make_application, make_user):
    approved_id, made = make_application("approved").id, make_application("established")
    instructor_id, zone_id = make_user(Role.INSTRUCTOR).id, make_user(Role.ZONE_APPROVER).id
    applicant_id = make_user(Role.APPLICANT, organisation=made.organisation).id
    approved, application = _get(Application, approved_id), _get(Application, made.id)
    instructor, zone, applicant = _get(User, instructor_id), _get(User, zone_id), _get(User, applicant_id)
    instructor.instructor_id = application.instructor_id
    with pytest.raises(DomainError, match="正式成立后"):
        guidance.tick_delivery(approved, ChecklistItem.FLAG, zone_today(), actor=zone)
    with pytest.raises(DomainError, match="只有该组织的党建指导员或党工委"):
        guidance.tick_delivery(application, ChecklistItem.FLAG, zone_today(), actor=applicant)
    guidance.tick_delivery(application, ChecklistItem.FLAG, zone_today(), actor=instructor,
                           photo=("党旗.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 10))
    guidance.tick_delivery(application, ChecklistItem.PLAQUE, zone_today(), actor=zone)
    with pytest.raises(DomainError, match="已确认过"):
        guidance.tick_delivery(application, ChecklistItem.FLAG, zone_today(), actor=zone)
    db.session.commit()
    states = {item: d is not None for item, d in guidance.checklist(application)}
    assert sum(states.values()) == 2 and states[ChecklistItem.FLAG] and not states[ChecklistItem.BOOKS]
    totals = guidance.checklist_totals()
    assert totals["established"] == 1 and dict(totals["per_item"])[ChecklistItem.FLAG] == 1
    assert db.session.scalar(sa.select(Delivery).filter_by(item=ChecklistItem.FLAG)).photo.content_type == "image/png"


# ---------------------------------------------------------------- pages per role

@pytest.mark.parametrize("role, expected", [("admin", 200), ("zone_approver", 403), ("instructor", 403),
                                            ("unit_reviewer", 403), ("applicant", 403), ("finance", 403)])
def test_instructor_admin_pages(client, login_as, role, expected):
    login_as(role)
    for url in ("/admin/instructors", "/admin/instructors/new", "/admin/instructors/import",
                "/admin/instructors/template.xlsx"):
        assert client.get(url).status_code == expected, url


@pytest.mark.parametrize("role, expected", [("zone_approver", 200), ("admin", 403), ("unit_reviewer", 403)])
def test_zone_instructor_pages(client, login_as, role, expected):
    login_as(role)
    assert client.get("/zone/instructors").status_code == expected
    assert client.get("/zone/assign").status_code == expected


def test_admin_adds_edits_and_imports(client, app, login_as):
    login_as(Role.ADMIN)
    with app.app_context():
        east = unit_by_code("street_east").id
    response = client.post("/admin/instructors/new", data={"name": "何永刚", "home_organ": "财政局", "phone": "",
                                                           "capacity": 4, "unit_ids": [east]}, follow_redirects=True)
    assert "已保存党建指导员何永刚" in response.get_data(as_text=True)
    bad = client.post("/admin/instructors/import", data={"file": (BytesIO(_xlsx([["姓名"], ["", "x"]])), "a.xlsx")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and "第 2 行：姓名不能为空" in bad.get_data(as_text=True)
    template = client.get("/admin/instructors/template.xlsx")
    assert template.data.startswith(b"PK")
    with app.app_context():
        saved = db.session.scalar(sa.select(Instructor).filter_by(name="何永刚"))
        assert saved.capacity == 4 and [u.id for u in saved.units] == [east]


def test_zone_reassigns_on_the_card(client, app, login_as, make_application, make_instructor):
    made = make_application("established")
    newcomer = make_instructor(name="乌云")
    login_as(Role.ZONE_APPROVER)
    refused = client.post(f"/applications/{made.id}/reassign", data={"instructor_id": newcomer.id, "reason": ""},
                          headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "改派须填写理由" in refused.get_data(as_text=True)
    other = make_instructor(name="巴特尔")
    refused = client.post(f"/applications/{made.id}/reassign", data={"instructor_id": other.id, "reason": ""},
                          headers={"HX-Request": "true"})
    page = refused.get_data(as_text=True)  # the choices are listed again, with the one the user chose still chosen
    assert f'<option value="{newcomer.id}">乌云' in page and f'<option value="{other.id}" selected>巴特尔' in page
    ok = client.post(f"/applications/{made.id}/reassign", data={"instructor_id": newcomer.id, "reason": "调任"},
                     headers={"HX-Request": "true"})
    page = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "乌云（组织部）：" in page and "现任" in page


def test_applicant_sees_the_checklist_but_cannot_tick(client, login_as, make_application):
    made = make_application("established")
    login_as(Role.APPLICANT, organisation=made.organisation)
    page = client.get(f"/applications/{made.id}").get_data(as_text=True)
    assert "“六建六送”（已完成 0/6）" in page and "确认送达" not in page
    response = client.post(f"/applications/{made.id}/deliveries/flag", data={"delivered_on": zone_today().isoformat()},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422 and "只有该组织的党建指导员或党工委" in response.get_data(as_text=True)


def test_the_workspace_lists_each_organisations_contact(client, app, login_as, make_application):
    """The workspace's rows come from the list query's columns: name and phone, or 未登记 when the registry
    gave none (as for organisations imported without a contact)."""
    with_contact, without = make_application("approved"), make_application("established")
    instructor = login_as(Role.INSTRUCTOR)
    with app.app_context():
        for made in (with_contact, without):
            db.session.get(Application, made.id).instructor_id = instructor.instructor_id
        org = db.session.get(Application, without.id).organisation
        org.contact_name, org.contact_phone = "", ""
        db.session.commit()
    page = client.get("/instructor/").get_data(as_text=True)
    assert "联系人（13800000000）" in page and "未登记" in page
    assert with_contact.organisation.name in page and without.organisation.name in page


def test_the_reassign_choices_come_when_the_form_is_opened(client, app, login_as, make_application, make_instructor):
    """The card does not rank the instructors on every view: htmx fetches them when the zone opens 改派, and
    ?reassign=1 shows the form open with them, for a browser without JavaScript."""
    made = make_application("established")
    newcomer = make_instructor(name="乌云")
    login_as(Role.ZONE_APPROVER)
    card = client.get(f"/applications/{made.id}").get_data(as_text=True)
    options_url = f"/applications/{made.id}/reassign/options"
    assert f'hx-get="{options_url}"' in card and "乌云" not in card
    assert f'href="/applications/{made.id}?reassign=1#reassign"' in card
    options = client.get(options_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'<option value="{newcomer.id}">乌云（组织部）' in options
    assert f'value="{made.instructor_id}"' not in options  # not the one who guides it now
    opened = client.get(f"/applications/{made.id}?reassign=1").get_data(as_text=True)
    assert '<details name="card-action" class="mb-3" id="reassign" open>' in opened
    assert f'<option value="{newcomer.id}">乌云' in opened
    client.post("/auth/logout")
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    assert client.get(f"/applications/{made.id}").status_code == 200  # the reviewer sees the card...
    assert client.get(options_url).status_code == 403  # ...but reassigns nobody
