"""Channels (外发渠道): each carries one outbox message out of the app through one small interface, send(message) ->
result. E-mail over SMTP; SMS through a provider (a log by default, Aliyun or Tencent Cloud); the zone's group robot
(WeCom or DingTalk). Each reads its settings from the app's configuration when it is made (channel_for)."""
import base64
import hashlib
import hmac
import json
import logging
import re
import smtplib
import ssl
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol
from urllib.error import URLError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

log = logging.getLogger(__name__)
TIMEOUT = 10  # seconds: a provider that does not answer in that time is tried again later


def post(url: str, body: bytes, headers: dict[str, str]) -> dict:
    """POST to a provider and read its JSON answer, whatever the HTTP status (the providers explain errors in it)."""
    request = Request(url, data=body, headers=headers, method="POST")
    try:
        with urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 (the addresses are the configured ones)
            return json.loads(response.read())
    except URLError as error:
        if hasattr(error, "read"):  # an HTTPError: its body is the provider's JSON
            return json.loads(error.read())
        raise


# What a failed request to a provider may raise: no connection, a timeout, an answer that is not JSON.
POST_ERRORS = (OSError, ValueError)


@dataclass(frozen=True)
class Message:
    """What a channel sends: to whom, the subject and text, the page it points at, and the kind of notice."""
    recipient: str
    subject: str
    body: str
    event: str = ""
    url: str = ""


@dataclass(frozen=True)
class Result:
    """The channel's answer: sent, or why not, and whether trying again may help (a refused address will not)."""
    ok: bool
    error: str = ""
    retry: bool = True

    @classmethod
    def failed(cls, error: str, *, retry: bool = True) -> "Result":
        return cls(False, error[:500], retry)


SENT = Result(True)


class Channel(Protocol):
    def send(self, message: Message) -> Result: ...


# ---------------------------------------------------------------- e-mail

@dataclass
class EmailChannel:
    """E-mail over SMTP (MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS: STARTTLS, MAIL_USERNAME, MAIL_PASSWORD)."""
    server: str
    port: int
    sender: str
    use_tls: bool = False
    username: str = ""
    password: str = ""

    def send(self, message: Message) -> Result:
        if not self.server:
            return Result.failed("未配置邮件服务器，邮件未发出", retry=False)
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = message.subject, self.sender, message.recipient
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2].strip(">") or None)
        mail.set_content(message.body)  # UTF-8, so the Chinese text and subject arrive as written
        try:
            with smtplib.SMTP(self.server, self.port, timeout=TIMEOUT) as smtp:
                if self.use_tls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            return Result.failed(f"邮件服务器拒收该地址：{_smtp_reason(error)}", retry=False)
        except smtplib.SMTPAuthenticationError as error:
            return Result.failed(f"邮件服务器登录失败，请检查 MAIL_USERNAME / MAIL_PASSWORD：{error.smtp_code}")
        except (OSError, smtplib.SMTPException) as error:
            return Result.failed(f"连接邮件服务器失败：{type(error).__name__}: {error}")
        return SENT


def _smtp_reason(error: smtplib.SMTPRecipientsRefused) -> str:
    return "; ".join(f"{address} {code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
                     for address, (code, reply) in error.recipients.items())


# ---------------------------------------------------------------- SMS

# An SMS cannot carry a free text: the providers send only templates approved in advance, under an approved
# signature, with parameters. Each kind of notice has its template (SMS_TEMPLATE_<EVENT>, e.g. SMS_TEMPLATE_FUNDS),
# approved with one parameter, ${title}: what happened, in at most 20 characters (the providers' limit for a
# variable), the reader is asked to open the system for the rest.
SMS_TITLE_LENGTH = 20


def sms_parameters(message: Message) -> dict[str, str]:
    # The subject's 【...】 prefix is dropped: the provider puts the approved signature there itself.
    return {"title": re.sub(r"^【[^】]*】", "", message.subject).strip()[:SMS_TITLE_LENGTH]}


@dataclass
class LogSms:
    """The default SMS backend: writes the message to the log, sends nothing (SMS_BACKEND=log)."""

    def send(self, message: Message) -> Result:
        log.info("SMS (log backend, not sent) to %s: %s", message.recipient, message.subject)
        return SENT


@dataclass
class AliyunSms:
    """Aliyun SMS (阿里云短信服务), SendSms in the RPC style signed with HMAC-SHA1 (signature version 1.0). The
    request's shape follows Aliyun's published documentation and is checked against a stub server in the tests;
    it has not been tried against Aliyun itself from here."""
    access_key_id: str
    access_key_secret: str
    sign_name: str
    templates: dict[str, str]
    endpoint: str = "https://dysmsapi.aliyuncs.com/"

    def request(self, message: Message) -> dict[str, str]:
        params = {
            "AccessKeyId": self.access_key_id, "Action": "SendSms", "Format": "JSON",
            "PhoneNumbers": message.recipient, "RegionId": "cn-hangzhou", "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
            "TemplateCode": self.templates.get(message.event, ""),
            "TemplateParam": json.dumps(sms_parameters(message), ensure_ascii=False),
            "Timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(params, self.access_key_secret)
        return params

    def send(self, message: Message) -> Result:
        if not self.templates.get(message.event):
            return Result.failed(f"未配置该类通知的短信模板（SMS_TEMPLATE_{message.event.upper()}）", retry=False)
        try:
            answer = post(self.endpoint, urlencode(self.request(message)).encode(),
                          {"Content-Type": "application/x-www-form-urlencoded"})
        except POST_ERRORS as error:
            return Result.failed(f"连接阿里云短信服务失败：{type(error).__name__}")
        if answer.get("Code") == "OK":
            return SENT
        return Result.failed(f"阿里云短信服务拒绝发送：{answer.get('Code')} {answer.get('Message', '')}",
                             retry=answer.get("Code") in ("isv.BUSINESS_LIMIT_CONTROL", "SignatureNonceUsed"))


def _percent(value: str) -> str:
    return quote(value, safe="-_.~")


def aliyun_signature(params: dict[str, str], secret: str) -> str:
    """Aliyun's RPC signature: HMAC-SHA1 over "POST&%2F&" + the percent-encoded sorted query, key secret + "&"."""
    query = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()))
    to_sign = f"POST&{_percent('/')}&{_percent(query)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


@dataclass
class TencentSms:
    """Tencent Cloud SMS (腾讯云短信), SendSms of API 2021-01-11 signed with TC3-HMAC-SHA256. Its template parameters
    are positional: ${title} is the first. Checked against a stub server in the tests, not against Tencent Cloud."""
    secret_id: str
    secret_key: str
    sdk_app_id: str
    sign_name: str
    templates: dict[str, str]
    endpoint: str = "https://sms.tencentcloudapi.com/"
    host: str = "sms.tencentcloudapi.com"
    region: str = "ap-guangzhou"

    def request(self, message: Message, now: int | None = None) -> tuple[dict[str, str], bytes]:
        now = int(time.time()) if now is None else now
        payload = json.dumps({
            "PhoneNumberSet": [f"+86{message.recipient}"], "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name, "TemplateId": self.templates.get(message.event, ""),
            "TemplateParamSet": list(sms_parameters(message).values()),
        }, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Host": self.host,
                   "X-TC-Action": "SendSms", "X-TC-Version": "2021-01-11", "X-TC-Timestamp": str(now),
                   "X-TC-Region": self.region}
        headers["Authorization"] = tc3_authorization(self.secret_id, self.secret_key, self.host, "sms", payload, now)
        return headers, payload

    def send(self, message: Message) -> Result:
        if not self.templates.get(message.event):
            return Result.failed(f"未配置该类通知的短信模板（SMS_TEMPLATE_{message.event.upper()}）", retry=False)
        headers, payload = self.request(message)
        try:
            answer = post(self.endpoint, payload, headers)["Response"]
        except (*POST_ERRORS, KeyError) as error:
            return Result.failed(f"连接腾讯云短信服务失败：{type(error).__name__}")
        if "Error" in answer:
            return Result.failed(f"腾讯云短信服务拒绝请求：{answer['Error'].get('Code')} {answer['Error'].get('Message')}")
        status = (answer.get("SendStatusSet") or [{}])[0]
        if status.get("Code") == "Ok":
            return SENT
        return Result.failed(f"腾讯云短信未发出：{status.get('Code')} {status.get('Message', '')}", retry=False)


def tc3_authorization(secret_id: str, secret_key: str, host: str, service: str, payload: bytes, now: int) -> str:
    """Tencent Cloud's TC3-HMAC-SHA256 Authorization header for a JSON POST to `/`."""
    day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")
    canonical = "\n".join(["POST", "/", "", f"content-type:application/json; charset=utf-8\nhost:{host}\n",
                           "content-type;host", hashlib.sha256(payload).hexdigest()])
    scope = f"{day}/{service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(now), scope, hashlib.sha256(canonical.encode()).hexdigest()])

    def sign(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    key = sign(sign(sign(f"TC3{secret_key}".encode(), day), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders=content-type;host, "
            f"Signature={signature}")


# ---------------------------------------------------------------- the group robot

@dataclass
class GroupRobot:
    """The zone's group robot: WeCom (企业微信) or DingTalk (钉钉), a POST of JSON text to its webhook address.
    DingTalk's robot with 加签 also takes timestamp and sign = base64(HMAC-SHA256(secret, f"{ts}\\n{secret}"))."""
    url: str
    kind: str = "wecom"
    secret: str = ""
    clock: object = field(default=time.time, repr=False)

    def address(self) -> str:
        if self.kind != "dingtalk" or not self.secret:
            return self.url
        timestamp = str(int(self.clock() * 1000))
        return f"{self.url}{'&' if '?' in self.url else '?'}" + urlencode(
            {"timestamp": timestamp, "sign": dingtalk_sign(self.secret, timestamp)})

    def send(self, message: Message) -> Result:
        if not self.url:
            return Result.failed("未配置工作群机器人地址（WEBHOOK_URL）", retry=False)
        text = f"{message.subject}\n{message.url}" if message.url else message.subject
        try:
            answer = post(self.address(), json.dumps({"msgtype": "text", "text": {"content": text}},
                                                      ensure_ascii=False).encode(),
                          {"Content-Type": "application/json; charset=utf-8"})
        except POST_ERRORS as error:
            return Result.failed(f"连接工作群机器人失败：{type(error).__name__}")
        # Both answer {"errcode": 0, "errmsg": "ok"} when the message is accepted.
        if answer.get("errcode") == 0:
            return SENT
        return Result.failed(f"工作群机器人拒绝消息：{answer.get('errcode')} {answer.get('errmsg', '')}")


def dingtalk_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


# ---------------------------------------------------------------- from the configuration

def sms_templates(config) -> dict[str, str]:
    return {event: config.get(f"SMS_TEMPLATE_{event.upper()}", "") for event in ("application", "funds", "account")}


def channel_for(kind: str, config) -> Channel:
    """The channel of one outbox row's kind (email, sms, webhook), from the app's configuration."""
    if kind == "email":
        return EmailChannel(config.get("MAIL_SERVER", ""), int(config.get("MAIL_PORT") or 25),
                            config.get("MAIL_DEFAULT_SENDER", ""), bool(config.get("MAIL_USE_TLS")),
                            config.get("MAIL_USERNAME", ""), config.get("MAIL_PASSWORD", ""))
    if kind == "sms":
        backend = config.get("SMS_BACKEND", "log")
        if backend == "aliyun":
            return AliyunSms(config["SMS_ACCESS_KEY_ID"], config["SMS_ACCESS_KEY_SECRET"], config["SMS_SIGN_NAME"],
                             sms_templates(config), config.get("SMS_ENDPOINT") or AliyunSms.endpoint)
        if backend == "tencent":
            return TencentSms(config["SMS_ACCESS_KEY_ID"], config["SMS_ACCESS_KEY_SECRET"], config["SMS_SDK_APP_ID"],
                              config["SMS_SIGN_NAME"], sms_templates(config),
                              config.get("SMS_ENDPOINT") or TencentSms.endpoint)
        return LogSms()
    return GroupRobot(config.get("WEBHOOK_URL", ""), config.get("WEBHOOK_KIND", "wecom"),
                      config.get("WEBHOOK_SECRET", ""))
