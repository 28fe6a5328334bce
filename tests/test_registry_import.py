"""The registry import (摸底导入): every row checked first, bad rows listed, then all or nothing, by credit code."""
import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

import domain.registry_import as importer
from domain.accounts import Registration, register_organisation
from models import (
    AppState, Application, CoverageCause, CoverageChange, ImportStatus, Organisation, OrgKind, RegistrationReview,
    RegistryImport, Role, StoredFile, User, db,
    utcnow,
)
from tests.conftest import on_postgresql, unit_by_code, valid_credit_code

HEADER = [header for _, header, _ in importer.COLUMNS]


def row(code, name="导入测试企业", kind="非公企业", unit="新型工业园区党委", address="", employees="10", formal="0",
        probationary="0", has_org="否", joint="", contact="", phone=""):
    return [code, name, kind, unit, address, employees, formal, probationary, has_org, joint, contact, phone]


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for r in rows:
        # Excel users type numbers as numbers: the importer must read 12.0 as 12.
        sheet.append([int(v) if i in (5, 6, 7) and v.isdigit() else v for i, v in enumerate(r)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, filename="摸底表.csv"):
    return client.post("/registry/imports", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def latest_job(app) -> RegistryImport:
    with app.app_context():
        job = db.session.scalar(sa.select(RegistryImport).order_by(RegistryImport.id.desc()))
        db.session.expunge(job)
        return job


def orgs(app) -> dict[str, Organisation]:
    with app.app_context():
        found = {o.credit_code: o for o in db.session.scalars(sa.select(Organisation))}
        db.session.expunge_all()
        return found


def bad_check_digit(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


@pytest.fixture
def admin(login_as):
    return login_as(Role.ADMIN)


def test_bad_rows_are_listed_with_line_and_reason_and_nothing_is_written(client, app, admin):
    good, dup, host = valid_credit_code(), valid_credit_code(), valid_credit_code()
    rows = [
        row(good, formal="3"),                                   # line 2: fine
        row(bad_check_digit(valid_credit_code())),               # line 3
        row(valid_credit_code(), unit="不存在的单位"),             # line 4
        row(valid_credit_code(), kind="个体户"),                  # line 5
        row(valid_credit_code(), formal="-2"),                   # line 6
        row(dup), row(dup),                                      # lines 7 and 8
        row(valid_credit_code(), formal="1", joint=host),        # line 9: the host is nowhere
        row(valid_credit_code(), phone="12345"),                 # line 10
    ]
    response = upload(client, csv_bytes(rows))
    assert response.status_code == 302
    job = latest_job(app)
    assert job.status is ImportStatus.INVALID and job.total_rows == 9 and job.error_count == 7
    reasons = {e["line"]: e["message"] for e in job.errors}
    assert set(reasons) == {3, 4, 5, 6, 8, 9, 10}
    assert "校验位不正确" in reasons[3]
    assert "初审单位“不存在的单位”不存在" in reasons[4]
    assert "组织类别“个体户”无法识别" in reasons[5]
    assert "正式党员人数“-2”应为非负整数" in reasons[6]
    assert "与第7行重复" in reasons[8]
    assert "不在名录中或尚未建立党组织" in reasons[9]
    assert "手机号码" in reasons[10]
    assert orgs(app) == {}

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "第 4 行" in page and "名录未作任何修改" in page and "确认导入" not in page
    refused = client.post(f"/registry/imports/{job.id}/commit", follow_redirects=True)
    assert "不能再次确认" in refused.get_data(as_text=True) and orgs(app) == {}


def test_a_clean_file_is_previewed_then_committed(client, app, admin):
    host, member = valid_credit_code(), valid_credit_code()
    rows = [row(host, name="牵头企业", formal="5", has_org="是", contact="张三", phone="13800000001"),
            row(member, name="小微企业", kind="社会组织", unit="civil_affairs", formal="1", joint=host)]
    response = upload(client, xlsx_bytes(rows), "摸底表.xlsx")
    job = latest_job(app)
    assert job.status is ImportStatus.READY and job.error_count == 0
    assert "全部 2 行校验通过" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert orgs(app) == {}  # previewing writes nothing

    client.post(f"/registry/imports/{job.id}/commit")
    job = latest_job(app)
    assert job.status is ImportStatus.DONE and (job.created_count, job.updated_count) == (2, 0)
    found = orgs(app)
    assert found[host].has_party_org and found[host].formal_members == 5 and found[host].contact_phone == "13800000001"
    assert found[member].kind is OrgKind.SOCIAL_ORG and found[member].joint_branch_code == host
    assert found[member].contact_name == "" and found[member].unit_id != found[host].unit_id
    with app.app_context():  # both covered from the import on, in the coverage history the trend reads
        changes = db.session.execute(sa.select(CoverageChange.organisation_id, CoverageChange.covered,
                                               CoverageChange.cause)).all()
    assert sorted(changes) == sorted([(found[host].id, True, CoverageCause.REGISTRY),
                                      (found[member].id, True, CoverageCause.REGISTRY)])
    again = client.post(f"/registry/imports/{job.id}/commit", follow_redirects=True)
    assert "不能再次确认" in again.get_data(as_text=True)


def test_reimport_updates_by_credit_code_and_never_duplicates(client, app, admin):
    a, b = valid_credit_code(), valid_credit_code()
    upload(client, csv_bytes([row(a, formal="2", contact="李四", phone="13800000002"), row(b)]))
    client.post(f"/registry/imports/{latest_job(app).id}/commit")
    c = valid_credit_code()
    upload(client, csv_bytes([row(a, name="改名后的企业", formal="4"), row(b, employees="99"), row(c)]))
    client.post(f"/registry/imports/{latest_job(app).id}/commit")
    job = latest_job(app)
    assert (job.created_count, job.updated_count) == (1, 2)
    found = orgs(app)
    assert len(found) == 3
    assert found[a].name == "改名后的企业" and found[a].formal_members == 4
    assert found[a].contact_name == "李四"  # a blank cell does not erase the registered contact
    assert found[b].employees == 99


def test_a_failure_while_writing_leaves_the_registry_untouched(client, app, admin, make_org, monkeypatch):
    existing = make_org(formal_members=1)
    rows = [row(valid_credit_code()) for _ in range(5)] + [row(existing.credit_code, formal="7")]
    upload(client, csv_bytes(rows))
    job = latest_job(app)
    original = importer._chunks

    def fail_after_first_batch(items):
        for number, batch in enumerate(original(items)):
            if number == 1:
                raise RuntimeError("disk full")
            yield batch

    monkeypatch.setattr(importer, "CHUNK", 2)
    monkeypatch.setattr(importer, "_chunks", fail_after_first_batch)
    client.post(f"/registry/imports/{job.id}/commit")
    job = latest_job(app)
    assert job.status is ImportStatus.FAILED and "名录未作任何修改" in job.message
    found = orgs(app)
    assert set(found) == {existing.credit_code} and found[existing.credit_code].formal_members == 1


def _running(client, app, *, attempts: int, seconds_ago: int = 600) -> RegistryImport:
    """An import confirmed and taken up `attempts` times, whose last heartbeat (or confirmation) was seconds_ago."""
    from datetime import datetime, timezone

    upload(client, csv_bytes([row(valid_credit_code()), row(valid_credit_code())]))
    job = latest_job(app)
    then = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    with app.app_context():
        db.session.execute(sa.update(RegistryImport).where(RegistryImport.id == job.id).values(
            status=ImportStatus.RUNNING, started_at=then, attempts=attempts, heartbeat_at=then if attempts else None))
        db.session.commit()
    return job


def test_an_import_whose_consumer_died_is_written_again_once(client, app, admin):
    job = _running(client, app, attempts=1)
    with app.app_context():
        importer.requeue_stale_imports.call_local()  # runs the import at once (JOBS_IMMEDIATE)
    job = latest_job(app)
    assert job.status is ImportStatus.DONE and job.attempts == 2 and job.created_count == 2 and len(orgs(app)) == 2
    with app.app_context():
        assert importer.take_up_stale_imports() == []  # done: nothing to take up, ever again


def test_an_import_interrupted_twice_is_marked_failed(client, app, admin):
    job = _running(client, app, attempts=importer.MAX_ATTEMPTS)
    with app.app_context():
        assert importer.take_up_stale_imports() == []
    page = client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert "导入中断" in page and "名录未作任何修改" in page
    assert latest_job(app).status is ImportStatus.FAILED and orgs(app) == {}


def test_a_confirmed_import_waits_for_its_consumer(client, app, admin):
    # Just confirmed, its task perhaps still in the queue: not taken up by the sweep.
    job = _running(client, app, attempts=0, seconds_ago=1)
    with app.app_context():
        assert importer.take_up_stale_imports() == []
    assert "正在排队等待后台任务处理" in client.get(f"/registry/imports/{job.id}").get_data(as_text=True)


def test_an_import_with_a_live_heartbeat_is_left_to_its_consumer(client, app, admin):
    job = _running(client, app, attempts=1, seconds_ago=1)
    with app.app_context():
        assert importer.take_up_stale_imports() == []
        importer.run_registry_import(job.id)  # a second copy of its task finds it taken
    job = latest_job(app)
    assert job.status is ImportStatus.RUNNING and job.attempts == 1 and orgs(app) == {}
    assert "已写入 0 / 2 行" in client.get(f"/registry/imports/{job.id}").get_data(as_text=True)


def test_the_progress_moves_while_the_rows_are_written(client, app, admin, monkeypatch):
    # Held after its first chunk of two rows, inside its one transaction: the page reads 2 rows written, from the
    # import's row (PostgreSQL) or from the queue's storage (SQLite, where the import is the one writer).
    import threading
    import time

    upload(client, csv_bytes([row(valid_credit_code()) for _ in range(6)]))
    job = latest_job(app)
    with app.app_context():
        db.session.execute(sa.update(RegistryImport).where(RegistryImport.id == job.id).values(
            status=ImportStatus.RUNNING))
        db.session.commit()
    monkeypatch.setattr(importer, "CHUNK", 2)
    monkeypatch.setitem(app.config, "JOBS_HEARTBEAT_SECONDS", 0.05)
    first_written, go_on, original = threading.Event(), threading.Event(), importer._chunks

    def held_after_first(items):
        for number, batch in enumerate(original(items)):
            if number == 1:
                first_written.set()
                go_on.wait(30)
            yield batch

    monkeypatch.setattr(importer, "_chunks", held_after_first)

    def write():
        with app.app_context():
            importer.run_registry_import(job.id)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert first_written.wait(30)
        deadline, shown = time.monotonic() + 10, ""
        while "已写入 2 / 6 行" not in shown and time.monotonic() < deadline:
            time.sleep(0.05)
            shown = client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    finally:
        go_on.set()
        writer.join()
    assert "已写入 2 / 6 行" in shown
    assert latest_job(app).status is ImportStatus.DONE and len(orgs(app)) == 6
    with app.app_context():
        assert importer.queue.get(importer._progress_key(job.id), peek=True) is None  # nothing left behind


def test_missing_columns_and_wrong_files_are_refused_before_anything_is_stored(client, app, admin):
    for data, name, message in ((csv_bytes([row(valid_credit_code())], header=HEADER[:3]), "摸底表.csv",
                                 "缺少以下必填列：初审单位"),
                                (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "old.xls", "不支持旧版 .xls 文件"),
                                (csv_bytes([]), "摸底表.csv", "没有数据行"),
                                (b"", "摸底表.csv", "上传的文件是空的")):
        response = upload(client, data, name)
        assert (response.status_code, message in response.get_data(as_text=True)) == (422, True), message
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RegistryImport.id))) == 0


def test_a_reviewer_imports_only_their_own_units_rows(client, app, login_as, make_org):
    elsewhere = make_org(unit_code="logistics_park")
    login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    mine = valid_credit_code()
    upload(client, csv_bytes([row(mine), row(valid_credit_code(), unit="综合物流园区党委"),
                              row(elsewhere.credit_code, unit="新型工业园区党委")]))
    job = latest_job(app)
    reasons = {e["line"]: e["message"] for e in job.errors}
    assert job.status is ImportStatus.INVALID and set(reasons) == {3, 4}
    assert "本单位只能导入本单位" in reasons[3] and "已登记在“综合物流园区党委”名下" in reasons[4]


def test_the_template_downloads_and_imports_as_is(client, app, admin):
    response = client.get("/registry/imports/template.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in sheet[1]] == HEADER
    upload(client, response.data, "template.xlsx")
    assert latest_job(app).status is ImportStatus.READY
    assert client.get("/registry/imports/template.csv").data.decode("utf-8-sig").startswith("统一社会信用代码,")


CERTIFICATE = ("营业执照.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)


def test_the_contact_of_an_imported_organisation_registers_and_claims_it(client, app, admin, ctx):
    code = valid_credit_code()
    upload(client, csv_bytes([row(code, formal="3")]))
    client.post(f"/registry/imports/{latest_job(app).id}/commit")
    unit = db.session.scalar(sa.select(Organisation)).unit

    def claim(username: str, contact: str) -> User:
        return register_organisation(Registration(
            org_name="别的名字", credit_code=code, kind=OrgKind.ENTERPRISE, unit=unit, address="", contact_name=contact,
            contact_phone="13800000003", employees=1, formal_members=9, probationary_members=0, has_party_org=False,
            username=username, password="secret123", position="经理", certificate=CERTIFICATE))

    user = claim("wangwu", "王五")
    db.session.commit()
    org = db.session.scalar(sa.select(Organisation))
    assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 1
    # Knowing a public credit code is not proof: the account waits for the unit, and the record stands.
    assert user.organisation_id == org.id and not user.active and org.contact_name != "王五" and org.formal_members == 3
    claim("zhaoliu", "赵六")  # a claim that waits blocks nobody: both wait for the unit to decide
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.organisation_id == org.id,
                                                                     User.active.is_(False))) == 2


def test_the_unit_sees_claimed_registrations_beside_the_registry_and_opens_one(client, app, admin):
    code = valid_credit_code()
    upload(client, csv_bytes([row(code, name="名录里的企业", formal="3", contact="李经理", phone="13800000009")]))
    client.post(f"/registry/imports/{latest_job(app).id}/commit")
    with app.app_context():
        unit = db.session.scalar(sa.select(Organisation)).unit
        user = register_organisation(Registration(
            org_name="名录里的企业", credit_code=code, kind=OrgKind.ENTERPRISE, unit=unit, address="",
            contact_name="王五", contact_phone="13800000003", employees=1, formal_members=3, probationary_members=0,
            has_party_org=False, username="wangwu", password="secret123", position="经理", certificate=CERTIFICATE))
        db.session.commit()
        user_id = user.id
        review_id = db.session.scalar(sa.select(RegistrationReview.id).filter_by(user_id=user_id))
    page = client.get("/verifications/").get_data(as_text=True)
    # Both phones side by side: the one the registrant gave and the registry's contact.
    assert "名录里的企业" in page and "13800000003" in page and "李经理 13800000009" in page
    client.post(f"/verifications/{review_id}/verify")
    with app.app_context():
        assert db.session.get(User, user_id).active
    assert f"/verifications/{review_id}/verify" not in client.get("/verifications/").get_data(as_text=True)


def test_a_file_without_the_optional_columns_imports_them_as_empty(client, app, admin):
    code = valid_credit_code()
    required = ["统一社会信用代码", "组织名称", "组织类别", "初审单位"]
    response = upload(client, csv_bytes([[code, "只填必填列的企业", "非公企业", "新型工业园区党委"]], header=required))
    assert response.status_code == 302
    job = latest_job(app)
    assert job.status is ImportStatus.READY and job.errors == []
    client.post(f"/registry/imports/{job.id}/commit")
    org = orgs(app)[code]
    assert (org.name, org.address, org.employees, org.formal_members, org.has_party_org) == \
        ("只填必填列的企业", "", 0, 0, False)


def test_absurd_counts_are_named_as_such(client, app, admin):
    app.config["REGISTRY_COUNT_MAX"] = 50000
    rows = [row(valid_credit_code(), employees="10", formal="8", probationary="5"),  # 13 members, 10 employees
            row(valid_credit_code(), employees="120000"),
            row(valid_credit_code(), employees="0", formal="3")]  # no employee count given: nothing to compare
    upload(client, csv_bytes(rows))
    reasons = {e["line"]: e["message"] for e in latest_job(app).errors}
    assert set(reasons) == {2, 3}
    assert "党员人数（正式 8 名、预备 5 名）多于职工人数 10，请核对" in reasons[2]
    assert "职工人数 120000 超过 50000，请核对是否多填了位数" in reasons[3] and "非负整数" not in reasons[3]


# ---------------------------------------------------------------- the commit checks the registry as it is then

def _checked(client, app, rows) -> RegistryImport:
    upload(client, csv_bytes(rows))
    job = latest_job(app)
    assert job.status is ImportStatus.READY
    return job


def _change(app, code, **values):
    with app.app_context():
        org = db.session.scalar(sa.select(Organisation).filter_by(credit_code=code))
        for key, value in values.items():
            setattr(org, key, value)
        db.session.commit()


@pytest.mark.parametrize("before, cells, change, message", [
    ({}, {}, {"has_party_org": True}, "校验之后该组织已建立党组织，本文件填“否”"),
    ({"has_party_org": True}, {"has_org": "是"}, {"has_party_org": False}, "校验之后该组织已改为未建立党组织，本文件填“是”"),
    ({}, {}, {"joint_branch_code": "HOST"}, "校验之后该组织已纳入联合党支部（牵头组织 HOST），本文件与此不符"),
    ({"joint_branch_code": "HOST"}, {"joint": "HOST"}, {"joint_branch_code": None},
     "校验之后该组织已退出联合党支部，本文件仍填写牵头组织 HOST"),
    ({}, {}, {"unit_id": "LOGISTICS"}, "校验之后该组织已改属“综合物流园区党委”，本文件与此不符"),
])
def test_what_changed_after_the_check_is_kept_and_the_row_listed(client, app, admin, make_org, before, cells, change,
                                                                 message):
    host = make_org(has_party_org=True, formal_members=5)

    def named(values):
        return {k: host.credit_code if v == "HOST" else logistics if v == "LOGISTICS" else v for k, v in values.items()}

    with app.app_context():
        logistics = unit_by_code("logistics_park").id
    org, new = make_org(formal_members=2, **named(before)), valid_credit_code()
    job = _checked(client, app, [row(new, name="新企业"), row(org.credit_code, name="改名的企业", formal="2",
                                                              **named(cells))])
    change = named(change)
    _change(app, org.credit_code, **change)
    page = client.post(f"/registry/imports/{job.id}/commit", follow_redirects=True).get_data(as_text=True)
    job = latest_job(app)
    assert job.status is ImportStatus.INVALID and job.error_count == 1
    assert job.errors == [{"line": 3, "code": org.credit_code, "message": message.replace("HOST", host.credit_code)}]
    assert "校验之后名录已有变化，有 1 行与名录现状冲突，名录未作任何修改" in page and "第 3 行" in page
    found = orgs(app)
    assert new not in found and found[org.credit_code].name == org.name  # nothing written
    assert all(getattr(found[org.credit_code], k) == v for k, v in change.items())


def test_an_organisation_established_after_the_check_keeps_it(client, app, admin, make_application):
    made = make_application("election_reported")
    job = _checked(client, app, [row(made.organisation.credit_code, has_org="否", formal="5")])
    with app.app_context():  # the zone approves the election meanwhile
        db.session.execute(sa.update(Application).where(Application.id == made.id).values(state=AppState.ESTABLISHED))
        db.session.commit()
    client.post(f"/registry/imports/{job.id}/commit")
    job = latest_job(app)
    assert job.status is ImportStatus.INVALID
    assert job.errors[0]["message"] == "校验之后该组织已在本系统批准成立党组织，本文件填“否”"


def test_a_joint_branch_whose_host_lost_its_party_organisation_is_listed(client, app, admin, make_org):
    host, member = make_org(has_party_org=True, formal_members=5), valid_credit_code()
    job = _checked(client, app, [row(member, formal="1", joint=host.credit_code)])
    _change(app, host.credit_code, has_party_org=False)
    client.post(f"/registry/imports/{job.id}/commit")
    job = latest_job(app)
    assert job.status is ImportStatus.INVALID and member not in orgs(app)
    assert job.errors[0]["message"] == f"联合党支部牵头组织 {host.credit_code} 已不在名录中或已无党组织"


def test_a_change_that_contradicts_no_row_lets_the_import_through(client, app, admin, make_org):
    org = make_org(has_party_org=False, formal_members=2)
    job = _checked(client, app, [row(org.credit_code, name="导入后的名称", formal="2", has_org="是")])
    _change(app, org.credit_code, has_party_org=True)  # organised since: the file says so too
    client.post(f"/registry/imports/{job.id}/commit")
    assert latest_job(app).status is ImportStatus.DONE
    assert orgs(app)[org.credit_code].name == "导入后的名称"


def test_a_checked_file_expires_after_24_hours(client, app, admin):
    code = valid_credit_code()
    job = _checked(client, app, [row(code)])
    with app.app_context():
        db.session.execute(sa.update(RegistryImport).where(RegistryImport.id == job.id)
                           .values(created_at=utcnow() - timedelta(hours=24, minutes=1)))
        db.session.commit()
    page = client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert "校验结果已超过 24 小时" in page and "确认导入</button>" not in page
    refused = client.post(f"/registry/imports/{job.id}/commit", follow_redirects=True).get_data(as_text=True)
    assert "校验结果已超过 24 小时，名录可能已有变化，请重新上传文件校验后再确认导入" in refused
    assert code not in orgs(app) and latest_job(app).status is ImportStatus.READY


# ---------------------------------------------------------------- the check runs in the consumer

def test_the_upload_keeps_the_file_and_leaves_its_check_to_the_consumer(client, app, admin, ctx):
    user = db.session.get(User, admin.id)
    job = importer.upload_registry_file("摸底表.csv", csv_bytes([row(valid_credit_code()), row("坏代码")]), actor=user)
    db.session.commit()
    assert job.status is ImportStatus.CHECKING and job.total_rows == 0 and job.errors == [] and job.file.size > 0
    page = client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert "正在排队等待后台任务校验" in page and "every 1s" in page and "确认导入" not in page
    importer.run_registry_check(job.id)
    db.session.expire_all()
    job = db.session.get(RegistryImport, job.id)
    assert job.status is ImportStatus.INVALID and job.total_rows == 2 and [e["line"] for e in job.errors] == [3]
    assert (job.attempts, job.heartbeat_at, job.processed_rows) == (0, None, 0)  # the commit counts its own
    assert "every 1s" not in client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert orgs(app) == {}


def test_a_file_refused_whole_while_checked_says_why(client, app, admin):
    app.config["REGISTRY_IMPORT_MAX_ROWS"] = 2
    response = upload(client, csv_bytes([row(valid_credit_code()) for _ in range(3)]))
    assert response.status_code == 302  # its first row is a registry's: kept, and refused by its check
    job = latest_job(app)
    assert job.status is ImportStatus.INVALID and job.error_count == 0 and orgs(app) == {}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "文件超过 3 行" in page and "确认导入" not in page


def _uploaded(app, user_id: int, data: bytes) -> int:
    """A file uploaded and kept, its check not run (as if no consumer had taken it yet): its import's id."""
    with app.app_context():
        job = importer.upload_registry_file("摸底表.csv", data, actor=db.session.get(User, user_id))
        db.session.commit()
        return job.id


def test_the_progress_moves_while_the_file_is_checked(client, app, admin, monkeypatch):
    # Held at its 2,000th row: the page reads 1,999 rows checked, of about as many as the share of the file read says.
    import threading
    import time

    job_id = _uploaded(app, admin.id, csv_bytes([row(valid_credit_code()) for _ in range(3000)]))
    monkeypatch.setitem(app.config, "JOBS_HEARTBEAT_SECONDS", 0.05)
    fourth, go_on, original = threading.Event(), threading.Event(), importer._Checker.check

    def held(self, line, raw):
        if line == 2001:
            fourth.set()
            go_on.wait(30)
        return original(self, line, raw)

    monkeypatch.setattr(importer._Checker, "check", held)

    def check():
        with app.app_context():
            importer.run_registry_check(job_id)

    checker = threading.Thread(target=check)
    checker.start()
    try:
        assert fourth.wait(30)
        deadline, shown = time.monotonic() + 10, ""
        while "正在校验：已校验 1999 行，共约" not in shown and time.monotonic() < deadline:
            time.sleep(0.05)
            shown = client.get(f"/registry/imports/{job_id}").get_data(as_text=True)
    finally:
        go_on.set()
        checker.join()
    assert "正在校验：已校验 1999 行，共约" in shown
    estimate = int(shown.split("共约 ")[1].split(" 行")[0])
    assert 2000 < estimate < 4000  # the CSV read 1,000 lines at a time: 2,000 of 3,000 rows, or thereabouts
    assert latest_job(app).status is ImportStatus.READY


def test_a_check_whose_consumer_died_is_run_again_then_given_up(client, app, admin, ctx):
    from datetime import datetime, timezone

    user = db.session.get(User, admin.id)
    job = importer.upload_registry_file("摸底表.csv", csv_bytes([row(valid_credit_code())]), actor=user)
    then = datetime.now(timezone.utc) - timedelta(seconds=600)
    db.session.flush()
    job.created_at, job.attempts, job.heartbeat_at = then, 1, then
    db.session.commit()
    importer.requeue_stale_imports.call_local()  # checks it at once (JOBS_IMMEDIATE)
    db.session.expire_all()
    assert db.session.get(RegistryImport, job.id).status is ImportStatus.READY

    again = importer.upload_registry_file("摸底表.csv", csv_bytes([row(valid_credit_code())]), actor=user)
    db.session.flush()
    again.created_at, again.attempts, again.heartbeat_at = then, importer.MAX_ATTEMPTS, then
    db.session.commit()
    assert importer.take_up_stale_imports() == []
    page = client.get(f"/registry/imports/{again.id}").get_data(as_text=True)
    assert "校验中断" in page and "请重新上传" in page


def test_one_user_cannot_fill_the_queue_with_uploads(client, app, admin, monkeypatch):
    """A script uploading in a loop: each upload is stored and queues a check of up to 120,000 rows. Past the
    unfinished cap the upload is refused next to the file field, and nothing is stored for it."""
    import blueprints.registry as views
    from domain import job_quota

    monkeypatch.setattr(views, "enqueue_registry_check", lambda job: None)
    data = csv_bytes([row(valid_credit_code())])
    for _ in range(job_quota.UNFINISHED_MAX):
        assert upload(client, data).status_code == 302
    assert "正在排队或校验" in upload(client, data).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RegistryImport.id))) == job_quota.UNFINISHED_MAX
        assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == job_quota.UNFINISHED_MAX


def test_a_reviewer_moved_to_another_unit_no_longer_sees_or_confirms_their_old_units_import(client, app, login_as):
    reviewer = login_as(Role.UNIT_REVIEWER, unit_code="industrial_park")
    upload(client, csv_bytes([row(valid_credit_code())]))
    job = latest_job(app)
    assert job.status is ImportStatus.READY
    with app.app_context():
        db.session.get(User, reviewer.id).unit_id = unit_by_code("logistics_park").id
        db.session.commit()
    assert client.get(f"/registry/imports/{job.id}").status_code == 404
    assert f"/registry/imports/{job.id}" not in client.get("/registry/imports").get_data(as_text=True)
    assert client.post(f"/registry/imports/{job.id}/commit").status_code == 404
    assert latest_job(app).status is ImportStatus.READY


def test_the_upload_form_states_the_configured_row_limit(client, app, admin):
    app.config["REGISTRY_IMPORT_MAX_ROWS"] = 120000
    assert "最多 120000 行" in client.get("/registry/imports").get_data(as_text=True)
