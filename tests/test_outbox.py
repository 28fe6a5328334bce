"""Notices that reach people (issue 31): the outbox, each person's settings, and the channels, against a local SMTP
sink and a local stub of the SMS providers' and group robots' HTTP APIs. Tasks run at once here (JOBS_IMMEDIATE)."""
import base64
import hashlib
import hmac
import json
import socket
import threading
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from domain import DomainError, channels, notices, outbox, preferences
from domain.validators import normalise_email, normalise_mobile, normalise_phone
from models import Channel, OutboxMessage, OutboxStatus, Role, User, db, utcnow
from tests.consumer import real_queue, start_consumer, stop_consumer  # noqa: F401 (a fixture)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp_sink(app):
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                      MAIL_DEFAULT_SENDER="开发区党建 <noreply@example.org>", PUBLIC_BASE_URL="https://dj.example.org")
    yield sink
    controller.stop()


@pytest.fixture
def stub_http():
    """A local HTTP server that records each request and answers with `stub.answer` (JSON)."""
    class Stub:
        requests: list = []
        answer: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            Stub.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            data = json.dumps(Stub.answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Stub.url = f"http://127.0.0.1:{server.server_port}/"
    yield Stub
    server.shutdown()
    server.server_close()


def person(make_user, role=Role.FINANCE, email="caiwu@example.org", mobile="13800000001") -> User:
    user = make_user(role)
    row = db.session.get(User, user.id)
    row.email, row.mobile = email, mobile
    db.session.commit()
    return db.session.get(User, user.id)


def lost_row(user: User, **values) -> None:
    """An outbox row whose task never ran: written without the ORM, so no task is queued after the commit."""
    values = {"channel": "email", "event": "funds", "user_id": user.id, "recipient": user.email, "subject": "s",
              "body": "b", "status": "queued", "created_at": utcnow(), "next_attempt_at": utcnow(), **values}
    db.session.execute(sa.insert(OutboxMessage.__table__).values(**values))
    db.session.commit()


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


# ---------------------------------------------------------------- e-mail through the outbox

def test_a_committed_notice_reaches_its_reader_by_email(ctx, smtp_sink, make_user):
    user = person(make_user)
    notices.notify([user], "拨付批次2026-BF-001已审批同意，请拨付并登记凭证", link="/finance/batches/1")
    assert smtp_sink.messages == []  # not before the commit
    db.session.commit()
    [(to, mail)] = smtp_sink.messages
    assert to == ["caiwu@example.org"]
    assert mail["Subject"] == "【开发区党建】拨付批次2026-BF-001已审批同意，请拨付并登记凭证"
    assert "https://dj.example.org/finance/batches/1" in mail.get_content()
    [row] = rows()
    assert (row.channel, row.status, row.attempts, row.error) == (Channel.EMAIL, OutboxStatus.SENT, 1, "")


def test_a_rolled_back_notice_sends_nothing(ctx, smtp_sink, make_user):
    user = person(make_user)
    notices.notify([user], "拨付批次2026-BF-001已审批同意", link="/finance/batches/1")
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert (smtp_sink.messages, rows()) == ([], [])


def test_a_row_already_sent_is_not_sent_again(ctx, smtp_sink, make_user):
    user = person(make_user)
    notices.notify([user], "拨付批次2026-BF-001已审批同意", link="/finance/batches/1")
    db.session.commit()
    [row] = rows()
    assert outbox.deliver(row.id) is None
    assert len(smtp_sink.messages) == 1


def test_only_one_of_two_claims_takes_a_row(ctx, make_user):
    lost_row(person(make_user))
    row_id = rows()[0].id
    assert [outbox.claim(row_id), outbox.claim(row_id)] == [True, False]


def test_a_failing_server_is_retried_with_growing_delays_then_given_up(ctx, app, make_user):
    user = person(make_user)
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nobody listens there
    notices.notify([user], "拨付批次2026-BF-001已审批同意", link="/finance/batches/1")
    db.session.commit()
    delays = []
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        row = rows()[0]
        delays.append(round((row.next_attempt_at - utcnow()).total_seconds() / 60))
        row.next_attempt_at = utcnow() - timedelta(seconds=1)  # its time has come
        db.session.commit()
        outbox.deliver(row.id)
    row = rows()[0]
    assert delays == [1, 4, 16, 64]
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 5)
    assert row.error.startswith("第5次发送失败：连接邮件服务器失败")


def test_the_sweep_gives_up_a_row_left_sending_and_requeues_a_lost_one(ctx, make_user):
    user = person(make_user)
    long_ago = utcnow() - timedelta(hours=1)
    for status in ("sending", "queued"):
        lost_row(user, status=status, claimed_at=long_ago, next_attempt_at=long_ago)
    stuck, lost = rows()
    assert outbox.sweep() == [lost.id]
    stuck = rows()[0]
    assert stuck.status is OutboxStatus.FAILED
    assert "为免重复发送" in stuck.error


# ---------------------------------------------------------------- settings

def test_by_default_email_is_on_and_sms_off(ctx, app, smtp_sink, make_user):
    user = person(make_user)
    notices.notify([user], "拨付批次2026-BF-001已审批同意", link="/finance/batches/1")
    db.session.commit()
    assert [r.channel for r in rows()] == [Channel.EMAIL]


def test_a_person_chooses_sms_for_one_kind_and_no_email(ctx, smtp_sink, make_user):
    user = person(make_user)
    preferences.set_preferences(user, {("funds", Channel.SMS), ("application", Channel.EMAIL)})
    db.session.commit()
    notices.notify([user], "拨付批次2026-BF-001已审批同意", link="/finance/batches/1")
    db.session.commit()
    [row] = rows()
    assert (row.channel, row.recipient, row.status) == (Channel.SMS, "13800000001", OutboxStatus.SENT)  # log backend
    assert smtp_sink.messages == []


def test_no_address_no_message(ctx, smtp_sink, make_user):
    user = person(make_user, email="", mobile="")
    notices.notify([user], "拨付批次2026-BF-001已审批同意", link="/finance/batches/1")
    db.session.commit()
    assert rows() == []


@pytest.mark.parametrize("value", ["1380000000", "23800000000", "138000000001", "1380000000a"])
def test_a_mobile_number_has_11_digits_starting_with_1(value):
    with pytest.raises(DomainError, match="请填写11位手机号码"):
        normalise_mobile(value)


def test_a_mobile_number_may_be_typed_with_spaces():
    assert normalise_mobile("138 0000 0001") == "13800000001"


@pytest.mark.parametrize("value", ["zhangsan", "zhangsan@", "@example.org", "zhang san@example.org", "a@b"])
def test_an_email_address_is_checked(value):
    with pytest.raises(DomainError, match="请填写正确的电子邮箱地址"):
        normalise_email(value)


def test_a_contact_sets_their_addresses_and_choices(client, app, login_as):
    user = login_as(Role.APPLICANT)
    page = client.get("/auth/notices").get_data(as_text=True)
    assert 'value="funds:email" id="wanted-1-funds"' in page and "checked" in page
    bad = client.post("/auth/notices", data={"email": "not-an-address", "mobile": "123", "wanted": ["funds:sms"]})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert "请填写正确的电子邮箱地址" in text and "请填写11位手机号码" in text
    assert 'value="not-an-address"' in text  # nothing typed is lost
    good = client.post("/auth/notices", data={"email": "lianxi@example.org", "mobile": "13900000002",
                                              "wanted": ["funds:sms", "application:email"]})
    assert good.status_code == 302
    with app.app_context():
        saved = db.session.get(User, user.id)
        assert (saved.email, saved.mobile) == ("lianxi@example.org", "13900000002")
        chosen = preferences.preferences_of(saved)
        assert {key for key, on in chosen.items() if on} == {("funds", Channel.SMS), ("application", Channel.EMAIL)}


def test_an_unknown_choice_is_refused_in_chinese(client, login_as):
    login_as(Role.FINANCE)
    response = client.post("/auth/notices", data={"wanted": ["funds:fax"]})
    assert "通知设置中有无法识别的选项" in response.get_data(as_text=True)


def test_an_official_cannot_change_their_own_addresses(client, app, login_as):
    user = login_as(Role.FINANCE)
    assert client.post("/auth/notices", data={"email": "me@example.org", "wanted": []}).status_code == 302
    with app.app_context():
        saved = db.session.get(User, user.id)
        assert saved.email == ""
        assert not any(preferences.preferences_of(saved).values())


def test_the_admin_sets_an_officials_addresses(client, app, login_as, make_user):
    login_as(Role.ADMIN)
    official = make_user(Role.ZONE_APPROVER)
    bad = client.post(f"/admin/users/{official.id}/contact", data={"email": "zone@example.org", "mobile": "1234"})
    assert "请填写11位手机号码" in bad.get_data(as_text=True)
    good = client.post(f"/admin/users/{official.id}/contact", data={"email": "zone@example.org", "mobile": "13700000003"})
    assert good.status_code == 302
    with app.app_context():
        saved = db.session.get(User, official.id)
        assert (saved.email, saved.mobile) == ("zone@example.org", "13700000003")


# ---------------------------------------------------------------- SMS providers and the group robot

MESSAGE = channels.Message(recipient="13800000001", subject="【开发区党建】启动经费已核定 5000 元", body="",
                           event="funds", url="https://dj.example.org/applicant/")


def test_aliyun_sms_sends_a_signed_template_request(stub_http):
    stub_http.answer = {"Code": "OK", "Message": "OK"}
    sms = channels.AliyunSms("key-id", "key-secret", "开发区党建", {"funds": "SMS_123"}, stub_http.url)
    assert sms.send(MESSAGE).ok
    [(_path, _headers, body)] = stub_http.requests
    params = dict(parse_qsl(body.decode()))
    assert (params["Action"], params["PhoneNumbers"], params["SignName"], params["TemplateCode"]) == (
        "SendSms", "13800000001", "开发区党建", "SMS_123")
    assert json.loads(params["TemplateParam"]) == {"title": "启动经费已核定 5000 元"}
    signature = params.pop("Signature")
    assert signature == channels.aliyun_signature(params, "key-secret")
    assert signature != channels.aliyun_signature(params, "another-secret")


def test_aliyun_sms_reports_a_refusal(stub_http):
    stub_http.answer = {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}
    result = channels.AliyunSms("id", "secret", "签名", {"funds": "SMS_1"}, stub_http.url).send(MESSAGE)
    assert (result.ok, result.retry) == (False, False)
    assert "isv.MOBILE_NUMBER_ILLEGAL" in result.error


def test_an_sms_without_a_template_is_not_sent(stub_http):
    result = channels.AliyunSms("id", "secret", "签名", {}, stub_http.url).send(MESSAGE)
    assert (result.ok, stub_http.requests) == (False, [])
    assert "SMS_TEMPLATE_FUNDS" in result.error


def test_tencent_sms_sends_a_tc3_signed_request(stub_http):
    stub_http.answer = {"Response": {"SendStatusSet": [{"Code": "Ok"}], "RequestId": "r"}}
    sms = channels.TencentSms("sid", "skey", "1400000000", "开发区党建", {"funds": "123456"}, stub_http.url)
    assert sms.send(MESSAGE).ok
    [(_path, headers, body)] = stub_http.requests
    payload = json.loads(body)
    assert payload == {"PhoneNumberSet": ["+8613800000001"], "SmsSdkAppId": "1400000000", "SignName": "开发区党建",
                       "TemplateId": "123456", "TemplateParamSet": ["启动经费已核定 5000 元"]}
    assert (headers["x-tc-action"], headers["x-tc-version"], headers["host"]) == (
        "SendSms", "2021-01-11", "sms.tencentcloudapi.com")
    now = int(headers["x-tc-timestamp"])
    assert headers["authorization"] == channels.tc3_authorization("sid", "skey", "sms.tencentcloudapi.com", "sms",
                                                                  body, now)
    assert headers["authorization"].startswith("TC3-HMAC-SHA256 Credential=sid/")


def test_dingtalk_robot_signs_its_timestamp(stub_http):
    stub_http.answer = {"errcode": 0, "errmsg": "ok"}
    robot = channels.GroupRobot(stub_http.url + "robot/send?access_token=t", "dingtalk", "SEC123",
                                clock=lambda: 1700000000.123)
    assert robot.send(MESSAGE).ok
    [(path, _headers, body)] = stub_http.requests
    query = dict(parse_qsl(urlsplit(path).query))
    expected = base64.b64encode(hmac.new(b"SEC123", b"1700000000123\nSEC123", hashlib.sha256).digest()).decode()
    assert (query["access_token"], query["timestamp"], query["sign"]) == ("t", "1700000000123", expected)
    assert json.loads(body) == {"msgtype": "text", "text": {"content": f"{MESSAGE.subject}\n{MESSAGE.url}"}}


def test_wecom_robot_posts_plain_text(stub_http):
    stub_http.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    result = channels.GroupRobot(stub_http.url + "cgi-bin/webhook/send?key=k").send(MESSAGE)
    [(path, _headers, _body)] = stub_http.requests
    assert path == "/cgi-bin/webhook/send?key=k"
    assert not result.ok and "93000" in result.error


def test_the_zone_group_hears_officials_notices_once(ctx, app, stub_http, make_user):
    stub_http.answer = {"errcode": 0, "errmsg": "ok"}
    app.config.update(WEBHOOK_URL=stub_http.url + "cgi-bin/webhook/send?key=k", WEBHOOK_EVENTS=("funds",))
    two = [person(make_user, Role.ZONE_APPROVER, email="", mobile=""),
           person(make_user, Role.ZONE_APPROVER, email="", mobile="")]
    notices.notify(two, "拨付批次2026-BF-001（1笔，合计5000元）已提交，请审批", link=notices.ZONE_FUNDS)
    db.session.commit()
    assert [(r.channel, r.status) for r in rows()] == [(Channel.WEBHOOK, OutboxStatus.SENT)]
    assert len(stub_http.requests) == 1
    contact = person(make_user, Role.APPLICANT, email="", mobile="")
    notices.notify([contact], "启动经费已核定 5000 元", link=notices.APPLICANT_HOME)
    db.session.commit()
    assert len(stub_http.requests) == 1  # a contact's notice is theirs, not the zone group's


# ---------------------------------------------------------------- the daily digest

def test_the_daily_digest_mails_each_official_once_at_the_hour(ctx, app, smtp_sink, make_user, make_application):
    from zoneinfo import ZoneInfo

    from domain.digest import queue_digests
    from models import Application

    zone = person(make_user, Role.ZONE_APPROVER, email="zone@example.org")
    person(make_user, Role.ZONE_APPROVER, email="", mobile="")  # no address: nothing
    now = utcnow()
    late, fresh = make_application("unit_approved"), make_application("unit_approved")
    db.session.get(Application, late.id).state_changed_at = now - timedelta(days=app.config["OVERDUE_DAYS"], hours=2)
    db.session.commit()
    app.config["DIGEST_HOUR"] = (now.astimezone(ZoneInfo(app.config["DISPLAY_TIMEZONE"])).hour + 1) % 24
    assert queue_digests(now) == 0  # not its hour
    app.config["DIGEST_HOUR"] = now.astimezone(ZoneInfo(app.config["DISPLAY_TIMEZONE"])).hour
    assert queue_digests(now) == 1
    db.session.commit()
    [(to, mail)] = smtp_sink.messages
    assert to == ["zone@example.org"]
    assert mail["Subject"] == "【开发区党建】每日待办：2 项待办，1 项新超期"
    assert f"https://dj.example.org/applications/{late.id}" in mail.get_content()
    assert f"/applications/{fresh.id}" not in mail.get_content()
    assert queue_digests(now + timedelta(minutes=30)) == 0  # today's is sent
    assert zone.id in {r.user_id for r in rows()}


def test_each_kind_of_notice_link_is_filed_under_its_event():
    from types import SimpleNamespace

    fund = SimpleNamespace(application_id=7)
    assert [notices.event_of(None, link) for link in (
        notices.fund_panel(fund), notices.ZONE_FUNDS, "/finance/batches/3", notices.APPLICANT_HOME, "")] == [
        "funds", "funds", "funds", "funds", "account"]


def test_the_admin_sees_what_was_sent_and_what_failed_and_why(client, app, login_as, make_user):
    login_as(Role.ADMIN)
    with app.app_context():
        user = person(make_user)
        lost_row(user, status="failed", attempts=5, error="第5次发送失败：连接邮件服务器失败：ConnectionRefusedError",
                 subject="【开发区党建】拨付批次2026-BF-001已审批同意")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "【开发区党建】拨付批次2026-BF-001已审批同意" in page
    assert "发送失败" in page and "ConnectionRefusedError" in page and "caiwu@example.org" in page


def test_a_real_consumer_mails_a_committed_notice_once(app, smtp_sink, make_user, real_queue, tmp_path):
    import time

    with app.app_context():
        user = person(make_user)
        notices.notify([user], "拨付批次2026-BF-001已审批同意，请拨付并登记凭证", link="/finance/batches/1")
        db.session.commit()  # queued for a consumer: nobody consumes yet
        assert smtp_sink.messages == [] and rows()[0].status is OutboxStatus.QUEUED
    log = tmp_path / "consumer.log"
    hook = f"app.config.update(MAIL_SERVER='127.0.0.1', MAIL_PORT={app.config['MAIL_PORT']})"
    consumer = start_consumer(app, real_queue, log, hook=hook)
    try:
        deadline = time.monotonic() + 60
        while not smtp_sink.messages and time.monotonic() < deadline and consumer.poll() is None:
            time.sleep(0.2)
        time.sleep(1)  # a second send, were there one, would arrive by now
    finally:
        stop_consumer(consumer)
    assert len(smtp_sink.messages) == 1, log.read_text()
    with app.app_context():
        assert [(r.status, r.attempts) for r in rows()] == [(OutboxStatus.SENT, 1)]


def test_a_multi_line_return_reason_still_mails_a_one_line_subject(ctx, smtp_sink, make_user):
    # A return's reasons are typed in a textarea and end up in the notice, so in the subject: a line break there
    # made the mail library refuse the header and the row was never sent; nor may it add a header of its own.
    user = person(make_user, role=Role.APPLICANT)
    notices.notify([user], "某公司的成立党组织申请：退回修改。第一条\r\nBcc: spy@example.org\n第二条",
                   link="/applications/1")
    db.session.commit()
    [(to, mail)] = smtp_sink.messages
    assert to == ["caiwu@example.org"]
    assert mail["Subject"] == "【开发区党建】某公司的成立党组织申请：退回修改。第一条 Bcc: spy@example.org 第二条"
    assert mail["Bcc"] is None
    assert rows()[0].status is OutboxStatus.SENT


@pytest.mark.parametrize("value", ["1３８００００００００", "1٣٨٠٠٠٠٠٠٠٠", "13８00000000"])
def test_a_mobile_number_has_ascii_digits_only(value):
    # Python's \d matches any script's digits: these passed and were stored for the SMS provider to dial.
    with pytest.raises(DomainError, match="请填写11位手机号码"):
        normalise_mobile(value)


@pytest.mark.parametrize("value", ["0٤٧١-1234567", "138００００0000", "0471-１２３４５６７"])
def test_a_contact_phone_has_ascii_digits_only(value):
    with pytest.raises(DomainError, match="请填写11位手机号码或带区号的固定电话"):
        normalise_phone(value)


def test_the_zone_group_hears_a_notice_once_when_a_substitute_is_told_too(ctx, app, stub_http, make_user):
    # notify also writes to the substitute of an official away, prefixed 【代…】; that second write queued the group
    # robot's message again, so the zone's group read an instructor's notice twice.
    from datetime import timedelta

    from domain.substitutes import SubstituteData, name_substitute
    from tests.conftest import zone_today

    stub_http.answer = {"errcode": 0, "errmsg": "ok"}
    app.config.update(WEBHOOK_URL=stub_http.url + "cgi-bin/webhook/send?key=k", WEBHOOK_EVENTS=("application",))
    away = person(make_user, Role.INSTRUCTOR, email="", mobile="")
    stand_in = person(make_user, Role.INSTRUCTOR, email="", mobile="")
    name_substitute(away, SubstituteData(stand_in.id, zone_today(), zone_today() + timedelta(days=3), "外出培训"))
    db.session.commit()
    notices.notify([away], "您已被选派为某公司的党建指导员，请及时联系并开展指导", link="/applications/1",
                   event="application")
    db.session.commit()
    assert [r.channel for r in rows()] == [Channel.WEBHOOK]
    assert len(stub_http.requests) == 1
