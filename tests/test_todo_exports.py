"""The to-do lists' exports (应建未建、应联未联导出) as tasks: read a page at a time in the lists' order, their progress
shown, their file downloaded only by whoever asked, in the scope they asked from, and deleted a day later."""
import io
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from domain import todo_exports as exports
from domain.dashboard import TodoFilter, todo_page
from models import ExportStatus, OrgKind, Role, StoredFile, TodoExport, User, db, utcnow
from tests.conftest import PASSWORD, unit_by_code
from tests.consumer import real_queue, start_consumer, stop_consumer  # noqa: F401 (a fixture)

# Ties of formal members across pages of two rows: a keyset page must continue inside a tie, and after it.
MEMBERS = [5, 5, 5, 4, 4, 3, 3, 3, 3]


@pytest.fixture
def orgs(make_org):
    for n, formal in enumerate(MEMBERS):
        make_org(name=f"丁{n % 3}企业{n}", formal_members=formal)
    make_org(name="民政协会", formal_members=4, unit_code="civil_affairs", kind=OrgKind.SOCIAL_ORG)
    make_org(name="已建企业", formal_members=9, has_party_org=True)  # covered: on neither list


def names_in(data: bytes) -> list[str]:
    return [row[0] for row in load_workbook(io.BytesIO(data)).active.iter_rows(min_row=4, values_only=True)]


def test_pages_follow_the_lists_order_through_ties(app, orgs, monkeypatch):
    monkeypatch.setattr(exports, "PAGE_ROWS", 2)
    with app.app_context():
        f = TodoFilter(list="build")
        pages = list(exports.todo_pages(f, None))
        shown = [org.name for org in todo_page(f, None, per_page=100).items]
        assert [len(p) for p in pages] == [2, 2, 2, 2, 2]
        assert [row[0] for page in pages for row in page] == shown and len(shown) == 10
        # One unit's list, of a kind: the same conditions as the page's.
        park = TodoFilter(list="build", unit_id=unit_by_code("civil_affairs").id, kind="social_org")
        assert [row[0] for page in exports.todo_pages(park, None) for row in page] == ["民政协会"]


def test_the_workbook_is_written_page_by_page_saying_how_far_it_got(app, orgs, monkeypatch):
    monkeypatch.setattr(exports, "PAGE_ROWS", 4)
    seen = []
    with app.app_context():
        data = exports.todo_xlsx(TodoFilter(list="build"), None, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 10), (4, 10), (8, 10), (10, 10)]
    ws = load_workbook(io.BytesIO(data)).active
    assert ws["A1"].value == "通辽经济技术开发区应建未建组织清单" and ws.auto_filter.ref == "A3:I13"
    assert names_in(data)[:3] == ["丁0企业0", "丁1企业1", "丁2企业2"]


def test_the_task_keeps_the_file_once_and_says_so(app, orgs, make_user):
    asker = make_user(Role.ZONE_APPROVER)
    with app.app_context():
        export = exports.request_todo_export(TodoFilter(list="build", kind="enterprise", q="丁"), None,
                                             actor=db.session.get(User, asker.id))
        db.session.commit()
        export_id = export.id
        exports.run_todo_export(export_id)
        exports.run_todo_export(export_id)  # again (Huey retrying, a second consumer): nothing more is made
        export = db.session.get(TodoExport, export_id)
        assert export.status is ExportStatus.DONE and export.total_rows == export.processed_rows == 9
        assert export.file.filename.startswith("应建未建-") and export.file.filename.endswith("日.xlsx")
        assert len(names_in(export.file.data)) == 9
        assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 1


def test_a_failed_export_says_so_and_keeps_nothing(app, client, login_as, orgs, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    login_as(Role.ADMIN)
    monkeypatch.setattr(exports, "todo_xlsx", broken)
    asked = client.post("/registry/todo/exports?list=build")
    page = client.get(asked.headers["Location"]).get_data(as_text=True)
    assert exports.FAILED in page and "disk full" not in page and "Traceback" not in page
    assert client.get(asked.headers["Location"] + ".xlsx").status_code == 409
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 0


def test_a_reviewer_exports_their_unit_only_and_only_they_download_it(app, client, login_as, orgs, make_user):
    reviewer = login_as(Role.UNIT_REVIEWER, unit_code="civil_affairs")
    park = unit_by_code_id(app, "industrial_park")
    asked = client.post(f"/registry/todo/exports?list=build&unit_id={park}")  # the URL names another unit
    download = asked.headers["Location"] + ".xlsx"
    assert names_in(client.get(download).data) == ["民政协会"]

    others = [make_user(Role.UNIT_REVIEWER, unit_code="industrial_park"), make_user(Role.ADMIN),
              make_user(Role.ZONE_APPROVER), make_user(Role.UNIT_REVIEWER, unit_code="civil_affairs")]
    for other in others:  # even a colleague of the same unit, even the admin
        with app.test_client() as them:
            assert them.post("/auth/login", data={"username": other.username, "password": PASSWORD}) \
                .status_code == 302
            assert them.get(download).status_code == 404
            assert them.get(asked.headers["Location"]).status_code == 404
    with app.app_context():  # moved to another unit: their old unit's list is no longer theirs
        db.session.get(User, reviewer.id).unit_id = park
        db.session.commit()
    assert client.get(download).status_code == 404


def unit_by_code_id(app, code: str) -> int:
    with app.app_context():
        return unit_by_code(code).id


@pytest.mark.parametrize("url", ["/registry/todo/exports/999999", "/registry/todo/exports/999999.xlsx",
                                 "/registry/todo/exports/99999999999999999999.xlsx"])
def test_an_export_that_does_not_exist_is_not_found(client, login_as, url):
    login_as(Role.ADMIN)
    response = client.get(url)
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_an_export_expires_after_a_day_and_is_then_deleted_with_its_file(app, client, login_as, orgs):
    login_as(Role.ZONE_APPROVER)
    asked = client.post("/registry/todo/exports?list=join")
    with app.app_context():
        export = db.session.scalar(sa.select(TodoExport))
        export.created_at = utcnow() - timedelta(hours=25)
        db.session.commit()
    response = client.get(asked.headers["Location"] + ".xlsx")
    assert response.status_code == 410 and exports.EXPIRED in response.get_data(as_text=True)
    with app.app_context():
        assert exports.delete_old_todo_exports() == 1
        assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 0
    assert client.get(asked.headers["Location"] + ".xlsx").status_code == 404


def test_an_export_whose_consumer_died_says_so_and_stops_polling(app, client, login_as, orgs):
    asker = login_as(Role.ZONE_APPROVER)
    with app.app_context():
        export = TodoExport(created_by_id=asker.id, list="build", status=ExportStatus.RUNNING,
                            heartbeat_at=utcnow() - timedelta(seconds=app.config["JOBS_STALE_SECONDS"] + 1))
        db.session.add(export)
        db.session.commit()
        url = f"/registry/todo/exports/{export.id}"
    page = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert exports.INTERRUPTED in page and "hx-trigger" not in page


def test_a_waiting_export_polls_its_progress(app, client, login_as, orgs):
    asker = login_as(Role.ZONE_APPROVER)
    with app.app_context():
        export = TodoExport(created_by_id=asker.id, list="build", status=ExportStatus.RUNNING, heartbeat_at=utcnow(),
                            total_rows=10, processed_rows=4)
        db.session.add(export)
        db.session.commit()
        url = f"/registry/todo/exports/{export.id}"
    page = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in page and "已写入 4 / 10 行" in page and 'aria-valuenow="40"' in page
    assert client.get(url + ".xlsx").status_code == 409


def test_the_list_page_offers_the_export_as_a_form_with_its_filters(client, login_as, orgs):
    login_as(Role.ZONE_APPROVER)
    page = client.get("/registry/todo?list=join&kind=social_org&q=协会").get_data(as_text=True)
    assert 'action="/registry/todo/exports?list=join&amp;unit_id=&amp;kind=social_org&amp;q=%E5%8D%8F%E4%BC%9A"' in page


def test_a_real_consumer_writes_the_export_while_the_page_waits(app, client, login_as, orgs, real_queue, tmp_path):
    login_as(Role.ZONE_APPROVER)
    asked = client.post("/registry/todo/exports?list=build")
    status = asked.headers["Location"]
    assert "已提交，正在排队等待后台任务处理" in client.get(status).get_data(as_text=True)  # no consumer yet
    consumer = start_consumer(app, real_queue, tmp_path / "consumer.log")
    try:
        deadline = time.monotonic() + 60
        while "下载 Excel" not in client.get(status).get_data(as_text=True):
            assert time.monotonic() < deadline and consumer.poll() is None, (tmp_path / "consumer.log").read_text()
            time.sleep(0.2)
    finally:
        stop_consumer(consumer)
    assert len(names_in(client.get(status + ".xlsx").data)) == 10


def test_the_list_page_lists_the_users_own_recent_exports(app, client, login_as, orgs, make_user):
    asker = login_as(Role.ZONE_APPROVER)
    client.post("/registry/todo/exports?list=build&q=协会")
    page = client.get("/registry/todo").get_data(as_text=True)
    assert "我最近的导出" in page and "名称或代码含“协会”" in page and "下载（1 行）" in page
    with app.app_context():
        old = TodoExport(created_by_id=asker.id, list="join", created_at=utcnow() - timedelta(hours=25))
        db.session.add(old)
        db.session.commit()
        assert [e.list for e in exports.recent_todo_exports(db.session.get(User, asker.id))] == ["build"]
    other = make_user(Role.ZONE_APPROVER)
    with app.test_client() as them:
        them.post("/auth/login", data={"username": other.username, "password": PASSWORD})
        assert "我最近的导出" not in them.get("/registry/todo").get_data(as_text=True)


def test_one_user_cannot_fill_the_queue_or_the_disk_with_exports(app, client, login_as, orgs, monkeypatch):
    """A script posting the export button in a loop: past the unfinished cap, and past the day's cap once those
    finished, each further export is refused in words, and nothing is recorded or queued for it."""
    import blueprints.registry as views
    from domain import job_quota

    queued = []
    monkeypatch.setattr(views, "enqueue_todo_export", lambda export: queued.append(export.id))
    asker = login_as(Role.ZONE_APPROVER)
    for _ in range(job_quota.UNFINISHED_MAX):
        assert client.post("/registry/todo/exports?list=build").status_code == 302
    refused = client.post("/registry/todo/exports?list=build", headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "正在排队或生成" in refused.get_data(as_text=True)
    assert len(queued) == job_quota.UNFINISHED_MAX
    with app.app_context():  # they finish; the day's cap still bounds the files kept
        for export_id in queued:
            exports.run_todo_export(export_id)
        for _ in range(job_quota.DAY_MAX - job_quota.UNFINISHED_MAX):
            db.session.add(TodoExport(created_by_id=asker.id, list="build", status=ExportStatus.FAILED))
        db.session.commit()
    refused = client.post("/registry/todo/exports?list=build", headers={"HX-Request": "true"})
    assert refused.status_code == 422 and "24 小时内最多" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(TodoExport.id))) == job_quota.DAY_MAX
