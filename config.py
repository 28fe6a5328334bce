"""Configuration read from the environment, with an embedded default that needs nothing running."""
import ipaddress
import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

INSTANCE_DIR = Path(__file__).resolve().parent / "instance"
AUDIT_KEY_MIN_LENGTH = 32
MB = 1024 * 1024


def database_url(url: str | None) -> str:
    """Accept the usual postgres:// spellings and point them at psycopg 3."""
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'zone.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_megabytes(name: str, default: int) -> int:
    """A size set in megabytes (MAX_ATTACHMENT_MB_PER_APPLICATION=50), in bytes."""
    value = os.environ.get(name)
    return default if value is None else int(value) * MB


def _development_secret(name: str = "secret_key") -> str:
    # Kept under instance/ so sessions (and the audit chain's seals) survive restarts without anyone choosing a key.
    # Written whole under another name and linked into place: of several workers starting at once, the first link
    # wins and every worker reads that one key (a key per worker would seal the audit chain under different keys).
    path = INSTANCE_DIR / name
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        draft = INSTANCE_DIR / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def public_address(url: str) -> bool:
    """Whether url is an http(s) address that readers other than the server itself can reach: a host that is not
    localhost, a loopback or an unspecified address."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name
    return not (address.is_loopback or address.is_unspecified)


class Config:
    ENV_NAME = "development"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    WTF_CSRF_TIME_LIMIT = None  # officials keep pages open all day; the token is bound to the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600  # a working day without a request; then log in again
    # Renewed every SESSION_RENEW_SECONDS instead (blueprints/web/requests.py, SessionInterface).
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_RENEW_SECONDS = 300
    REGISTER_RATE_LIMIT = "10 per hour"  # registrations per client address
    # Wrong passwords for one username from one address before that address is locked out of it, and for how long
    # (domain/accounts.py, authenticate: other addresses are slowed down, never locked out).
    LOGIN_LOCKOUT_FAILURES = 5
    LOGIN_LOCKOUT_MINUTES = 15
    LOGIN_DELAY_MAX_SECONDS = 60  # the longest wait between attempts that failures from elsewhere impose
    LOGIN_RATE_LIMIT = "20 per minute"  # login attempts per address
    # Intranets without internet: serve htmx only from static/.
    HTMX_LOCAL_ONLY = False
    HTMX_VERSION = "2.0.11"  # the same file as static/vendor/htmx-2.0.11.min.js
    HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"
    # The CDN's copy: the layout's script tag and the CSP's script-src both name this one file.
    HTMX_CDN_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
    DISPLAY_TIMEZONE = "Asia/Shanghai"
    PAGE_SIZE = 50
    # Rendered list rows each worker keeps (blueprints/web/row_cache.py): about 1.5 KB each, so 6 MB at
    # most.
    ROW_CACHE_SIZE = 4096
    OVERDUE_DAYS = 5  # a step waiting longer than this many days is marked overdue
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024  # several 10 MB attachments in one form; each is checked alone
    # Attachments live in the database (and in every backup): how much one application, and one organisation
    # across all its applications, may hold (domain/applications.py). Set in megabytes from the environment.
    MAX_ATTACHMENTS_PER_APPLICATION = 20
    MAX_ATTACHMENT_BYTES_PER_APPLICATION = 50 * MB
    MAX_ATTACHMENT_BYTES_PER_ORGANISATION = 200 * MB
    REGISTRY_IMPORT_MAX_ROWS = 120000  # the zone has about 11,000 market entities, the city ten times that
    # The most employees or Party members one registry row may state: a larger count is a slip, not an organisation
    # of the zone (its biggest employers have a few thousand staff).
    REGISTRY_COUNT_MAX = 100000
    # The job queue (jobs/): where it lives (JOBS_URL: sqlite:///, postgresql://, redis://), whether tasks run at
    # once in the caller instead (the tests), and when a long task's heartbeat counts as stopped (its consumer died).
    JOBS_URL = "sqlite:///instance/jobs.db"
    JOBS_IMMEDIATE = False
    JOBS_HEARTBEAT_SECONDS = 5
    JOBS_STALE_SECONDS = 120
    # How long the record of a finished task stays (jobs/runs.py, prune_runs): done ones this many days after they
    # finished; failed ones longer, being what someone may still look into.
    JOBS_KEEP_DAYS = 30
    JOBS_KEEP_FAILED_DAYS = 90
    FORMATION_RATE_REFERENCE = 84.8  # per cent: the zone's figure in the report the product starts from
    # Notices outside the app (domain/outbox.py, domain/channels.py); each is read from the environment of the same
    # name. E-mail is sent only when MAIL_SERVER is set; SMS goes to the log unless SMS_BACKEND is aliyun or tencent.
    MAIL_SERVER = ""
    MAIL_PORT = 25
    MAIL_USE_TLS = False  # STARTTLS after connecting
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_DEFAULT_SENDER = "开发区党建 <noreply@localhost>"
    SMS_BACKEND = "log"  # log | aliyun | tencent
    SMS_ACCESS_KEY_ID = ""  # Aliyun AccessKey ID, or Tencent Cloud SecretId
    SMS_ACCESS_KEY_SECRET = ""  # Aliyun AccessKey Secret, or Tencent Cloud SecretKey
    SMS_SIGN_NAME = ""  # the approved signature (短信签名)
    SMS_SDK_APP_ID = ""  # Tencent Cloud only
    SMS_ENDPOINT = ""  # empty: the provider's public address
    SMS_TEMPLATE_APPLICATION = ""  # the approved template code of each kind of notice, with one parameter ${title}
    SMS_TEMPLATE_FUNDS = ""
    SMS_TEMPLATE_ACCOUNT = ""
    WEBHOOK_URL = ""  # the zone's group robot (WeCom or DingTalk); empty: none
    WEBHOOK_KIND = "wecom"  # wecom | dingtalk
    WEBHOOK_SECRET = ""  # DingTalk's 加签 secret
    WEBHOOK_EVENTS = ("application", "funds")  # the kinds of officials' notices the group sees
    DIGEST_HOUR = 8  # the zone's hour (0-23) at which officials get their daily digest (每日待办摘要)
    # The PAdES signature on issued documents (domain/signing.py): the PKCS#12 file and its password, required in
    # production; without them, development makes a test CA and signing certificate in SIGNING_DIR on first use.
    # TSA_URL: the timestamp authority that gives the signing time (empty: a built-in test one outside production).
    SIGNING_P12 = ""
    SIGNING_P12_PASSWORD = ""
    SIGNING_DIR = str(INSTANCE_DIR / "signing")
    TSA_URL = ""

    def __init__(self):
        self.SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or self.fallback_secret()
        # The key of the audit log's HMAC seals (domain/audit.py): whoever can write the database but lacks it
        # cannot rebuild the chain after changing a row. Kept apart from SECRET_KEY, which signs cookies and may be
        # rotated; this one may not (every seal made with it would then fail verify-audit).
        self.AUDIT_KEY = os.environ.get("AUDIT_KEY") or self.fallback_audit_key()
        self.HTMX_LOCAL_ONLY = _env_bool("HTMX_LOCAL_ONLY", self.HTMX_LOCAL_ONLY)
        self.OVERDUE_DAYS = int(os.environ.get("OVERDUE_DAYS", self.OVERDUE_DAYS))
        self.MAX_ATTACHMENTS_PER_APPLICATION = int(os.environ.get("MAX_ATTACHMENTS_PER_APPLICATION",
                                                                  self.MAX_ATTACHMENTS_PER_APPLICATION))
        self.MAX_ATTACHMENT_BYTES_PER_APPLICATION = _env_megabytes("MAX_ATTACHMENT_MB_PER_APPLICATION",
                                                                   self.MAX_ATTACHMENT_BYTES_PER_APPLICATION)
        self.MAX_ATTACHMENT_BYTES_PER_ORGANISATION = _env_megabytes("MAX_ATTACHMENT_MB_PER_ORGANISATION",
                                                                    self.MAX_ATTACHMENT_BYTES_PER_ORGANISATION)
        # The load test's 50 simulated officials share one loopback address, where real ones have their own.
        self.LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", self.LOGIN_RATE_LIMIT)
        self.REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", self.REGISTER_RATE_LIMIT)
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
        # memory:// counts per worker process: with four workers, four times the limit. Production says so itself.
        self.RATELIMIT_ALLOW_MEMORY = _env_bool("RATELIMIT_ALLOW_MEMORY")
        # Printed into each document's QR code, so it must be the address the public reaches.
        self.PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
        # How many reverse proxies (nginx) stand in front and set X-Forwarded-For/-Proto. Behind one, every
        # request would otherwise come from the proxy's address, and the whole zone would share one login
        # limit. 0 (the default) trusts no header: a client could then write its own.
        self.TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", 0))
        self.JOBS_URL = os.environ.get("JOBS_URL", self.JOBS_URL)
        self.JOBS_STALE_SECONDS = int(os.environ.get("JOBS_STALE_SECONDS", self.JOBS_STALE_SECONDS))
        for key in ("JOBS_KEEP_DAYS", "JOBS_KEEP_FAILED_DAYS"):
            setattr(self, key, int(os.environ.get(key, getattr(self, key))))
            if getattr(self, key) < 1:
                raise RuntimeError(f"{key} 应为不小于 1 的天数 (not {getattr(self, key)})")
        for key in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER", "SMS_BACKEND",
                    "SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME", "SMS_SDK_APP_ID", "SMS_ENDPOINT",
                    "SMS_TEMPLATE_APPLICATION", "SMS_TEMPLATE_FUNDS", "SMS_TEMPLATE_ACCOUNT", "WEBHOOK_URL",
                    "WEBHOOK_KIND", "WEBHOOK_SECRET", "SIGNING_P12", "SIGNING_P12_PASSWORD", "TSA_URL"):
            setattr(self, key, os.environ.get(key, getattr(self, key)))
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT", self.MAIL_PORT))
        self.DIGEST_HOUR = int(os.environ.get("DIGEST_HOUR", self.DIGEST_HOUR))
        if not 0 <= self.DIGEST_HOUR <= 23:
            raise RuntimeError(f"DIGEST_HOUR 应为 0 到 23 之间的整数 (not {self.DIGEST_HOUR})")
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", self.MAIL_USE_TLS)
        if "WEBHOOK_EVENTS" in os.environ:
            self.WEBHOOK_EVENTS = tuple(e.strip() for e in os.environ["WEBHOOK_EVENTS"].split(",") if e.strip())
        if self.SMS_BACKEND not in ("log", "aliyun", "tencent"):
            raise RuntimeError(f"SMS_BACKEND 应为 log、aliyun 或 tencent (not {self.SMS_BACKEND!r})")
        if self.WEBHOOK_KIND not in ("wecom", "dingtalk"):
            raise RuntimeError(f"WEBHOOK_KIND 应为 wecom 或 dingtalk (not {self.WEBHOOK_KIND!r})")

    def fallback_secret(self) -> str:
        return _development_secret()

    def fallback_audit_key(self) -> str:
        return _development_secret("audit_key")


class DevelopmentConfig(Config):
    pass


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    HTMX_LOCAL_ONLY = True  # the test machines have no internet
    LOGIN_RATE_LIMIT = "1000 per minute"  # the suite logs in hundreds of times; one test sets the real limit
    REGISTER_RATE_LIMIT = "1000 per minute"
    JOBS_IMMEDIATE = True  # one test drives a real consumer process (tests/test_jobs.py)
    # The test CA, made once per test run, never in instance/.
    SIGNING_DIR = str(Path(tempfile.gettempdir()) / f"zone-test-signing-{os.getpid()}")

    def fallback_secret(self) -> str:
        return "testing-secret"

    def fallback_audit_key(self) -> str:
        return "testing-audit-key"


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True

    def __init__(self):
        super().__init__()
        # A short key can be found by trying keys against any sealed row, which anyone reading the database has.
        if len(self.AUDIT_KEY) < AUDIT_KEY_MIN_LENGTH:
            raise RuntimeError(f"生产环境的 AUDIT_KEY 至少需要 {AUDIT_KEY_MIN_LENGTH} 个字符，"
                               f"如 python3 -c 'import secrets; print(secrets.token_hex(32))' 生成的随机串 "
                               f"(AUDIT_KEY must be at least {AUDIT_KEY_MIN_LENGTH} characters in production)")
        # Each worker would keep its own login counts: an address could try the limit once per worker.
        if self.RATELIMIT_STORAGE_URI.startswith("memory://") and not self.RATELIMIT_ALLOW_MEMORY:
            raise RuntimeError("生产环境的 RATELIMIT_STORAGE_URI 不能是 memory://：各工作进程会各自计数，登录限速随进程数倍增。"
                               "请设置 RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379 等共享存储；确实只运行一个工作进程时，"
                               "设置 RATELIMIT_ALLOW_MEMORY=1 (RATELIMIT_STORAGE_URI=memory:// keeps separate counts in "
                               "each worker; use shared storage such as redis://, or set RATELIMIT_ALLOW_MEMORY=1 when "
                               "one worker is intended)")

        # Printed into every issued document's QR code and link, which never change: an address only the server can
        # reach would leave every 批复 unverifiable by its readers.
        if not public_address(os.environ.get("PUBLIC_BASE_URL", "")):
            raise RuntimeError("生产环境必须把 PUBLIC_BASE_URL 设为公众能访问的地址（如 https://dj.example.gov.cn），"
                               "它会印在每份批复的二维码和核验链接上，印发后不能更改 (PUBLIC_BASE_URL must be set "
                               "to the public http(s) address in production: not localhost or a loopback address)")

        # Every issued document is signed with the zone's certificate: without it nothing could be issued.
        if not self.SIGNING_P12 or not self.SIGNING_P12_PASSWORD:
            raise RuntimeError("生产环境必须设置 SIGNING_P12（签名证书 PKCS#12 文件的路径）和 SIGNING_P12_PASSWORD（其密码），"
                               "印发的文件都要用它签名 (SIGNING_P12 and SIGNING_P12_PASSWORD are required in production)")
        if not Path(self.SIGNING_P12).is_file():
            raise RuntimeError(f"找不到签名证书文件 SIGNING_P12={self.SIGNING_P12} (SIGNING_P12 is not a file)")
        check_signing_certificate(Path(self.SIGNING_P12), self.SIGNING_P12_PASSWORD)

    def fallback_secret(self) -> str:
        raise RuntimeError("生产环境必须设置 SECRET_KEY 环境变量 (SECRET_KEY is required in production)")

    def fallback_audit_key(self) -> str:
        raise RuntimeError("生产环境必须设置 AUDIT_KEY 环境变量，用于封存审计日志；它不能存放在数据库中，"
                           "丢失后已有的审计记录将无法核验 (AUDIT_KEY is required in production)")


def check_signing_certificate(path: Path, password: str) -> None:
    """Open the production signing certificate at start, so that a wrong file or password, or an expired
    certificate, stops the app now rather than the first 批复 issued. With cryptography (loaded at start already),
    not pyHanko (domain/signing.py), which the web workers never load unless they sign."""
    from datetime import datetime, timezone

    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(path.read_bytes(), password.encode() or None)
    except (OSError, ValueError, TypeError):
        key = certificate = None
    if key is None or certificate is None:
        raise RuntimeError(f"无法读取签名证书 SIGNING_P12={path}：不是 PKCS#12 文件、SIGNING_P12_PASSWORD 密码不对，"
                           "或其中没有私钥和证书 (cannot open SIGNING_P12 with SIGNING_P12_PASSWORD)")
    if certificate.not_valid_after_utc < datetime.now(timezone.utc):
        raise RuntimeError(f"签名证书 SIGNING_P12={path} 已于 {certificate.not_valid_after_utc:%Y-%m-%d} 过期，"
                           "请换用有效的证书 (the signing certificate has expired)")


CONFIGS = {"development": DevelopmentConfig, "testing": TestingConfig, "production": ProductionConfig}


def load_config(name: str | None = None) -> Config:
    name = name or os.environ.get("APP_ENV", "development")
    try:
        return CONFIGS[name]()
    except KeyError:
        raise RuntimeError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
