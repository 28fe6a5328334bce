"""Fixtures shared by every test: a fresh database per test, factories, and `login_as(role)`.

The schema comes from the migrations (not create_all), so every run also checks them. On SQLite each
test gets a copy of a migrated template file; on PostgreSQL (TEST_DATABASE_URL or DATABASE_URL) the
tables are truncated after each test.
"""
import itertools
import os
import shutil
import threading
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from stdnum.cn import uscc
from werkzeug.security import generate_password_hash

from app import create_app
from config import Config, TestingConfig, database_url
from domain.coverage import backfill_coverage
from domain.reference import ensure_units
from models import Instructor, Organisation, OrgKind, Role, Unit, User, db

PASSWORD = "test-pass-1"


def zone_today() -> date:
    """The zone's date, which the app checks typed dates against (domain/zone_time.py). On a UTC machine
    date.today() is a day behind it from 16:00 UTC on, and a test using it would fail every evening."""
    return datetime.now(ZoneInfo(Config.DISPLAY_TIMEZONE)).date()


# Hashed once: scrypt takes tens of milliseconds, and the factories make hundreds of users.
PASSWORD_HASH = generate_password_hash(PASSWORD)


def postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url or url.startswith("sqlite"):
        return None
    url = database_url(url)
    name = sa.make_url(url).database or ""
    if "test" not in name:
        # The suite truncates every table: never let it near a database that is not a test one.
        pytest.exit(f"refusing to run the tests against database {name!r}: its name must contain 'test'", 2)
    return url


# How many connections race for one thing. 50 on PostgreSQL, as the zone's busiest minute might; SQLite has one
# writer and a 5-second busy timeout, so a race there is smaller (it proves the same rule, not the same load).
RACERS_PG, RACERS_SQLITE = 50, 10


def make_test_app(uri: str):
    # A pool as large as the widest race, so that the race is on rows, not on connections.
    return create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": uri, "WTF_CSRF_ENABLED": False,
                       "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": RACERS_PG + 5}})


def on_postgresql(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def racers(app) -> int:
    return RACERS_PG if on_postgresql(app) else RACERS_SQLITE


def race(app, attempt, args: list) -> list:
    """Run `attempt(arg)` once per arg, each in its own thread, app context and connection, all released at
    the same moment. Returns what each returned, or the exception it raised, in no particular order."""
    barrier, results = threading.Barrier(len(args), timeout=120), []

    def run(arg):
        with app.app_context():
            try:
                results.append(attempt(arg, barrier.wait))
            except Exception as error:  # reported to the test: a thread cannot fail it by itself
                barrier.abort()  # one that failed before the start must not leave the others waiting
                db.session.rollback()
                results.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(arg,)) for arg in args]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture(scope="session", autouse=True)
def signing_keys_removed():
    """The test CA that signs the documents the tests issue (one per test process, config.TestingConfig) goes with
    the session, so that test runs leave no keys behind in the temporary folder."""
    yield
    shutil.rmtree(TestingConfig.SIGNING_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def database(tmp_path_factory):
    """Migrate one database for the session: a template file on SQLite, the test database on PostgreSQL."""
    pg = postgres_url()
    if pg:
        engine = sa.create_engine(pg)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        uri = pg
    else:
        uri = f"sqlite:///{tmp_path_factory.mktemp('db') / 'template.db'}"
    app = make_test_app(uri)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return uri


@pytest.fixture
def app(database, tmp_path):
    if database.startswith("sqlite"):
        path = tmp_path / "test.db"
        shutil.copy(sa.make_url(database).database, path)
        uri = f"sqlite:///{path}"
    else:
        uri = database
    app = make_test_app(uri)
    with app.app_context():
        ensure_units()
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        kept, fresh = formation_counts_kept_and_fresh()
        db.session.remove()
        if uri.startswith("postgresql"):
            tables = ", ".join(t.name for t in db.metadata.sorted_tables if t.name != "alembic_version")
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()
    assert kept == fresh, "the kept formation counts differ from a fresh count after this test"


def formation_counts_kept_and_fresh() -> tuple[set, set]:
    """The formation rate's counts as kept (domain/formation_counts.py) and as counted afresh from the organisations
    and their coverage history, as sets of rows; checked after every test, whatever its verbs wrote."""
    from domain.formation_counts import counted, counted_months
    from models import CoverageMonth, FormationCount

    def rows(query) -> set:
        return set(db.session.execute(query).all())

    dialect = db.engine.dialect.name
    kept = rows(sa.select(FormationCount.__table__)) | rows(sa.select(CoverageMonth.__table__))
    return kept, rows(counted()) | rows(counted_months(sa.true(), dialect))


def p12_file(password: str, valid_days: int = 30) -> bytes:
    """A PKCS#12 file: an EC key (fast to make) and its self-signed certificate, valid from a day ago."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试签名证书")])
    start = datetime.now(timezone.utc) - timedelta(days=1)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start)
                   .not_valid_after(start + timedelta(days=valid_days)).sign(key, hashes.SHA256()))
    return pkcs12.serialize_key_and_certificates(b"zone", key, certificate, None,
                                                 BestAvailableEncryption(password.encode()))


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    """What a production configuration needs from the environment to start, each test then taking away or changing
    the one it is about: the keys, the public address, rate-limit counts kept per worker (one worker meant), and the
    signing certificate's file (opened at start with its password: tests/test_demo_and_config.py) and password."""
    (tmp_path / "signing.p12").write_bytes(p12_file("p12-password"))
    monkeypatch.setenv("SIGNING_P12", str(tmp_path / "signing.p12"))
    monkeypatch.setenv("SIGNING_P12_PASSWORD", "p12-password")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("AUDIT_KEY", "a" * 64)
    monkeypatch.setenv("RATELIMIT_ALLOW_MEMORY", "1")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://dj.example.gov.cn")
    return monkeypatch


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context for tests that call domain functions directly."""
    with app.app_context():
        yield db.session


_serial = itertools.count(1)


def valid_credit_code(n: int | None = None) -> str:
    body = f"91150500MA1{(n or next(_serial)):06d}"
    return body + uscc.calc_check_digit(body)


def unit_by_code(code: str) -> Unit:
    return db.session.scalar(sa.select(Unit).filter_by(code=code))


def _detached(obj):
    db.session.commit()
    db.session.refresh(obj)
    db.session.expunge(obj)
    return obj


@pytest.fixture
def make_org(app):
    """Create an organisation; keyword arguments override the defaults."""

    def make(**fields) -> Organisation:
        with app.app_context():
            unit = unit_by_code(fields.pop("unit_code", "industrial_park"))
            n = next(_serial)
            values = dict(name=f"测试企业{n}", credit_code=valid_credit_code(n), kind=OrgKind.ENTERPRISE, unit=unit,
                          contact_name="联系人", contact_phone="13800000000", employees=50, formal_members=5)
            values.update(fields)
            org = Organisation(**values)
            db.session.add(org)
            db.session.flush()
            backfill_coverage([org.id])  # covered from the start, as the migration and the seeding record it
            return _detached(org)

    return make


@pytest.fixture
def make_instructor(app):
    def make(**fields) -> Instructor:
        with app.app_context():
            n = next(_serial)
            instructor = Instructor(**{"name": f"指导员{n}", "home_organ": "组织部", "phone": "13900000000", **fields})
            db.session.add(instructor)
            return _detached(instructor)

    return make


@pytest.fixture
def make_user(app, make_org, make_instructor):
    """Create an account of a role, with the unit, organisation or instructor the role needs."""

    def make(role: Role | str = Role.ADMIN, *, username: str | None = None, unit_code: str = "industrial_park",
             organisation: Organisation | None = None, active: bool = True) -> User:
        role = Role(role)
        org = organisation or (make_org() if role is Role.APPLICANT else None)
        instructor = make_instructor() if role is Role.INSTRUCTOR else None
        with app.app_context():
            user = User(
                username=username or f"{role.value}{next(_serial)}", name=f"{role.label}用户", role=role, active=active,
                unit=unit_by_code(unit_code) if role is Role.UNIT_REVIEWER else None,
                organisation_id=org.id if org else None, instructor_id=instructor.id if instructor else None,
            )
            user.password_hash = PASSWORD_HASH
            db.session.add(user)
            return _detached(user)

    return make


@pytest.fixture
def login_as(client, make_user):
    """Create a user of the role and log the test client in as them, through the real login form."""

    def login(role: Role | str, **kwargs) -> User:
        user = make_user(role, **kwargs)
        response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return login


def export_todo(client, query: str):
    """Export a to-do list as its button does (POST with the list's filters; the testing config runs the task at
    once) and download the file: the download's response."""
    asked = client.post(f"/registry/todo/exports?{query}")
    assert asked.status_code == 302, asked.get_data(as_text=True)
    status = client.get(asked.headers["Location"])
    assert "下载 Excel" in status.get_data(as_text=True)
    return client.get(asked.headers["Location"] + ".xlsx")


def sign_in_directly(app, client, user_id: int) -> None:
    """Log a test client in without the login form (which needs a CSRF token and a scrypt check): a login row,
    and the session keys the real login sets."""
    from blueprints.auth import LOGIN_TOKEN
    from domain.accounts import start_session

    with app.app_context():
        user = db.session.get(User, user_id)
        token = start_session(user)
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session[LOGIN_TOKEN] = str(user_id), True, token


def member_rows(formal: int, probationary: int = 0) -> list:
    from datetime import date

    from domain.applications import MemberRow
    from models import Gender, MemberStatus

    return [MemberRow(name=f"党员{i + 1}", gender=Gender.MALE, joined_on=date(2010, 7, 1),
                      status=MemberStatus.FORMAL if i < formal else MemberStatus.PROBATIONARY)
            for i in range(formal + probationary)]


def complete_data(formal: int = 5, probationary: int = 1, **overrides):
    """An application that passes every check before submission."""
    from domain.applications import ApplicationData
    from domain.party_rules import suggested_kind

    values = dict(requested_kind=suggested_kind(formal, probationary), formal_members=formal,
                  probationary_members=probationary, proposed_secretary="党员1", reasons="党员人数已符合条件",
                  members=member_rows(formal, probationary))
    values.update(overrides)
    return ApplicationData(**values)


@pytest.fixture
def make_application(app, make_org, make_instructor, make_user):
    """An application of a new organisation, put straight into `state` (its history starts there)."""
    from models import AppState, Application, ApplicationMember, utcnow

    def make(state: AppState | str = "draft", *, unit_code: str = "industrial_park", formal: int = 5,
             probationary: int = 1) -> Application:
        state = AppState(state)
        org = make_org(unit_code=unit_code, formal_members=formal, probationary_members=probationary)
        instructed = state.value in ("approved", "election_reported", "established")
        instructor = make_instructor() if instructed else None
        assigner = make_user(Role.ZONE_APPROVER) if instructed else None
        data = complete_data(formal, probationary)
        with app.app_context():
            application = Application(
                organisation_id=org.id, unit_id=org.unit_id, state=state, requested_kind=data.requested_kind,
                formal_members=formal, probationary_members=probationary, proposed_secretary="党员1",
                reasons=data.reasons, instructor_id=instructor.id if instructor else None,
                submitted_at=None if state.value in ("draft", "withdrawn") else utcnow(),
                members=[ApplicationMember(position=i, name=m.name, gender=m.gender, joined_on=m.joined_on,
                                           status=m.status) for i, m in enumerate(data.members)])
            db.session.add(application)
            if instructed:
                from models import Assignment

                db.session.add(Assignment(application=application, instructor_id=instructor.id,
                                          assigned_by_id=assigner.id))
            if state is AppState.ESTABLISHED:  # as the establish step does: the organisation's record, from today
                from domain.party_orgs import create_party_org

                db.session.flush()
                create_party_org(application)
            return _detached(application)

    return make


@pytest.fixture
def make_fund(app, make_application, make_user):
    """A fund item of a newly established organisation, as far along as `state` says:
    pending, approved, checked (payee entered and checked), or in a draft batch is up to the test."""
    from decimal import Decimal

    from domain import funds
    from models import Application, FundItem

    zone_id, finance_id = [], []

    def make(state: str = "approved", *, unit_code: str = "industrial_park", amount: str | None = None,
             name: str | None = None, formal: int = 5) -> FundItem:
        made = make_application("established", unit_code=unit_code, formal=formal, probationary=1)
        contact = make_user(Role.APPLICANT, organisation=made.organisation)
        if not zone_id:
            zone_id.append(make_user(Role.ZONE_APPROVER).id)
            finance_id.append(make_user(Role.FINANCE).id)
        with app.app_context():
            application = db.session.get(Application, made.id)
            if name:
                application.organisation.name = name
            zone = db.session.get(User, zone_id[0])
            item = funds.create_fund_item(application, actor=zone)
            if state in ("approved", "checked"):
                funds.confirm_fund(item, actor=zone, version=item.version, amount=amount,
                                   reason="" if amount is None or Decimal(amount) == item.standard_amount else "按实际需要调整")
            if state == "checked":
                funds.set_payee(item, funds.Payee(application.organisation.name, "中国工商银行通辽开发区支行",
                                                  f"6222 0206 {item.id:08d}"), actor=db.session.get(User, contact.id))
                funds.check_payee(item, actor=db.session.get(User, finance_id[0]), version=item.version,
                                  method="retyped", confirmed=("account_name", "bank_name"),
                                  retyped_account=item.account_number)
            db.session.commit()
            return _detached(db.session.get(FundItem, item.id))

    make.zone_id, make.finance_id = zone_id, finance_id
    return make
