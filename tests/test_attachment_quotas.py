"""Attachment quotas through the application form: files and bytes per application, bytes per organisation.

Each quota is set small for the test (the config's defaults are 20 files, 50 MB and 200 MB). Past one, the form
comes back naming the limit, with everything typed and the files sent kept (ticked) as after any failed save, and
nothing past the quota is attached."""
import re
from io import BytesIO

import pytest
import sqlalchemy as sa

from models import Application, Attachment, Role, StoredFile, db
from tests.test_application_routes import application_form


def png(size: int, n: int) -> bytes:
    """A PNG of exactly `size` bytes, different for each n."""
    head = b"\x89PNG\r\n\x1a\n" + bytes([n])
    return head + b"\x00" * (size - len(head))


def files(size: int, count: int, first: int = 0) -> list:
    return [(BytesIO(png(size, n)), f"文件{n}.png") for n in range(first, first + count)]


def kept_ids(page: str) -> list[str]:
    return re.findall(r'name="kept_file" value="(\d+)"[^>]*checked', page)


def typed() -> dict:
    return application_form(reasons="本单位现有正式党员4名，预备党员1名，申请成立党支部。")


def attached(app) -> list[tuple[int, int]]:
    """(application, size) of every attachment there is."""
    with app.app_context():
        return db.session.execute(sa.select(Attachment.application_id, StoredFile.size)
                                  .join(StoredFile, Attachment.file_id == StoredFile.id)
                                  .order_by(Attachment.id)).all()


def post(client, url: str, data: dict):
    return client.post(url, data=data, content_type="multipart/form-data")


def assert_kept_everything_typed(page: str) -> None:
    assert "本单位现有正式党员4名，预备党员1名，申请成立党支部。" in page
    assert 'value="党员1"' in page and 'value="党员5"' in page and 'value="2012-07-01"' in page


@pytest.fixture
def applicant(app, login_as, make_org):
    app.config.update(MAX_ATTACHMENTS_PER_APPLICATION=20, MAX_ATTACHMENT_BYTES_PER_APPLICATION=50 * 1024 * 1024,
                      MAX_ATTACHMENT_BYTES_PER_ORGANISATION=200 * 1024 * 1024)
    return login_as(Role.APPLICANT, organisation=make_org(formal_members=4, probationary_members=1))


def test_files_per_application(client, app, applicant):
    app.config["MAX_ATTACHMENTS_PER_APPLICATION"] = 2
    refused = post(client, "/applications/new", {**typed(), "attachments": files(100, 3)})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "每份申请最多上传 2 个附件" in page
    assert_kept_everything_typed(page)
    kept = kept_ids(page)
    assert len(kept) == 3 and attached(app) == []  # all three kept to choose from; none attached
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 0  # the draft was not saved either

    # Two of the three ticked: saved.
    assert post(client, "/applications/new", {**typed(), "kept_file": kept[:2]}).status_code == 302
    with app.app_context():
        application = db.session.scalar(sa.select(Application))
        app_id, version = application.id, application.version
    assert attached(app) == [(app_id, 100), (app_id, 100)]

    # An edit that would add a third is refused the same way, and keeps what it typed.
    again = post(client, f"/applications/{app_id}/edit",
                 {**typed(), "version": version, "attachments": files(100, 1, first=7)})
    page = again.get_data(as_text=True)
    assert again.status_code == 422 and "每份申请最多上传 2 个附件" in page
    assert_kept_everything_typed(page)
    assert len(kept_ids(page)) == 1 and attached(app) == [(app_id, 100), (app_id, 100)]


def test_bytes_per_application(client, app, applicant):
    app.config["MAX_ATTACHMENT_BYTES_PER_APPLICATION"] = 2048
    refused = post(client, "/applications/new", {**typed(), "attachments": files(1000, 3)})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "每份申请的附件合计不能超过 2 KB" in page
    assert_kept_everything_typed(page)
    kept = kept_ids(page)
    assert len(kept) == 3 and attached(app) == []

    # Up to the limit itself is fine: two files of 1,000 bytes and one of 48.
    small = (BytesIO(png(48, 9)), "小文件.png")
    assert post(client, "/applications/new", {**typed(), "kept_file": kept[:2], "attachments": [small]}
                ).status_code == 302
    assert sum(size for _, size in attached(app)) == 2048


def test_bytes_per_organisation_across_its_applications(client, app, applicant):
    app.config.update(MAX_ATTACHMENT_BYTES_PER_APPLICATION=2048, MAX_ATTACHMENT_BYTES_PER_ORGANISATION=3072)
    # A first application with 2,000 bytes of attachments, withdrawn: its files stay, and count.
    assert post(client, "/applications/new", {**typed(), "attachments": files(1000, 2)}).status_code == 302
    with app.app_context():
        first = db.session.scalar(sa.select(Application))
        first_id, version = first.id, first.version
    assert client.post(f"/applications/{first_id}/steps/withdraw",
                       data={"version": version, "comment": "重新申请"}).status_code == 302

    # The second application: each file is within its own 2 KB, but the two together take the organisation to
    # 4,000 bytes, past its 3 KB.
    refused = post(client, "/applications/new", {**typed(), "attachments": files(1000, 2, first=5)})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "本单位所有申请的附件合计不能超过 3 KB（以往申请已占用 2 KB）" in page
    assert_kept_everything_typed(page)
    assert len(kept_ids(page)) == 2 and attached(app) == [(first_id, 1000), (first_id, 1000)]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Application.id))) == 1

    # One of the two fits (3,000 of 3,072 bytes).
    assert post(client, "/applications/new", {**typed(), "kept_file": kept_ids(page)[:1]}).status_code == 302
    assert [size for _, size in attached(app)] == [1000, 1000, 1000]


def test_the_quotas_are_read_from_the_environment_in_megabytes(monkeypatch):
    from config import load_config

    for name in ("MAX_ATTACHMENTS_PER_APPLICATION", "MAX_ATTACHMENT_MB_PER_APPLICATION",
                 "MAX_ATTACHMENT_MB_PER_ORGANISATION"):
        monkeypatch.delenv(name, raising=False)
    default = load_config("testing")
    monkeypatch.setenv("MAX_ATTACHMENTS_PER_APPLICATION", "5")
    monkeypatch.setenv("MAX_ATTACHMENT_MB_PER_APPLICATION", "8")
    monkeypatch.setenv("MAX_ATTACHMENT_MB_PER_ORGANISATION", "30")
    chosen = load_config("testing")
    quotas = ("MAX_ATTACHMENTS_PER_APPLICATION", "MAX_ATTACHMENT_BYTES_PER_APPLICATION",
              "MAX_ATTACHMENT_BYTES_PER_ORGANISATION")
    assert [[getattr(config, name) for name in quotas] for config in (default, chosen)] == [
        [20, 50 * 1024 * 1024, 200 * 1024 * 1024], [5, 8 * 1024 * 1024, 30 * 1024 * 1024]]
