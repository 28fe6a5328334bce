"""Demo data, configuration, the htmx tag and the error pages."""
import pytest
import sqlalchemy as sa

from app import create_app
from config import ProductionConfig, database_url
from domain.accounts import DEMO_PASSWORD
from models import Instructor, Organisation, User, db
from seeding.demo import demo_instructor_names
from tests.conftest import p12_file


def test_seed_demo_is_idempotent_and_every_account_logs_in(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["seed-demo"])
    assert "新建 0 条记录" in second.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Instructor.id))) == 61
        assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 41  # one waits for verification
        names = set(db.session.scalars(sa.select(Organisation.name)))
        usernames = list(db.session.scalars(sa.select(User.username)))
        from models import Renewal, RenewalState
        renewals = list(db.session.scalars(sa.select(Renewal)))
        assert [r.state for r in renewals] == [RenewalState.SUBMITTED]  # one 换届请示 waits for its unit
    assert {"通辽市快递业协会", "雷锋出租车协会", "长川制靴有限公司", "福耀玻璃（通辽）有限公司"} <= names
    assert len(set(demo_instructor_names())) == 61
    for username in ["applicant", "reviewer", "zone", "instructor", "finance", "admin", "reviewer-north"]:
        assert username in usernames
    for username in usernames:
        client = app.test_client()
        response = client.post("/auth/login", data={"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, username
        assert client.get(response.headers["Location"]).status_code == 200, username


def test_seed_demo_if_empty_skips_a_used_database(app, make_user):
    make_user("admin")
    result = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert "跳过" in result.output


def test_seed_demo_refuses_production(app):
    app.config["ENV_NAME"] = "production"
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "生产环境禁止" in result.output


def test_production_refuses_to_start_without_a_secret(production_env):
    monkeypatch = production_env
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        ProductionConfig()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert ProductionConfig().SECRET_KEY == "x" * 40


def test_production_refuses_to_start_without_a_long_audit_key(production_env):
    monkeypatch = production_env
    monkeypatch.delenv("AUDIT_KEY", raising=False)
    with pytest.raises(RuntimeError, match="生产环境必须设置 AUDIT_KEY"):
        ProductionConfig()
    monkeypatch.setenv("AUDIT_KEY", "short")
    with pytest.raises(RuntimeError, match="AUDIT_KEY 至少需要 32 个字符"):
        ProductionConfig()
    monkeypatch.setenv("AUDIT_KEY", "a" * 64)
    assert ProductionConfig().AUDIT_KEY == "a" * 64


@pytest.mark.parametrize("name", ["SIGNING_P12", "SIGNING_P12_PASSWORD"])
def test_production_refuses_to_start_without_its_signing_certificate(production_env, name):
    production_env.delenv(name)
    with pytest.raises(RuntimeError, match="生产环境必须设置 SIGNING_P12"):
        ProductionConfig()


def test_production_refuses_a_signing_certificate_that_is_not_there(production_env, tmp_path):
    production_env.setenv("SIGNING_P12", str(tmp_path / "missing.p12"))
    with pytest.raises(RuntimeError, match="找不到签名证书文件"):
        ProductionConfig()


@pytest.mark.parametrize("contents, password, refusal", [
    (b"not a certificate", "p12-password", "无法读取签名证书"),
    (p12_file("p12-password"), "wrong-password", "无法读取签名证书"),
    (p12_file("p12-password", valid_days=0), "p12-password", "已于"),
])
def test_production_refuses_a_signing_certificate_it_cannot_use(production_env, tmp_path, contents, password, refusal):
    """At start, not at the first 批复: a file that is not PKCS#12, the wrong password, an expired certificate."""
    (tmp_path / "signing.p12").write_bytes(contents)
    production_env.setenv("SIGNING_P12_PASSWORD", password)
    with pytest.raises(RuntimeError, match=refusal):
        ProductionConfig()


def test_production_starts_with_a_signing_certificate_it_can_open(production_env):
    assert ProductionConfig().SIGNING_P12.endswith("signing.p12")


@pytest.mark.parametrize("url", [None, "", "http://127.0.0.1:5000", "http://localhost:8000", "https://[::1]/",
                                 "http://0.0.0.0", "ftp://dj.example.gov.cn", "dj.example.gov.cn", "https://"])
def test_production_refuses_an_address_its_documents_readers_cannot_reach(production_env, url):
    if url is None:
        production_env.delenv("PUBLIC_BASE_URL")
    else:
        production_env.setenv("PUBLIC_BASE_URL", url)
    with pytest.raises(RuntimeError, match="生产环境必须把 PUBLIC_BASE_URL 设为公众能访问的地址"):
        ProductionConfig()


@pytest.mark.parametrize("url", ["https://dj.example.gov.cn", "http://10.20.1.5:8000"])  # an intranet's too
def test_production_takes_a_public_or_intranet_address(production_env, url):
    production_env.setenv("PUBLIC_BASE_URL", url)
    assert ProductionConfig().PUBLIC_BASE_URL == url


def test_make_run_prints_the_port_it_serves_on_into_documents():
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("PUBLIC_BASE_URL", "MAKEFLAGS", "MFLAGS")}
    dry = subprocess.run(["make", "-n", "run", "PORT=5123"], capture_output=True, text=True, env=env).stdout
    assert "核验地址 (PUBLIC_BASE_URL): http://127.0.0.1:5123" in dry
    env["PUBLIC_BASE_URL"] = "https://dj.example.gov.cn"  # a deployment's own stands
    dry = subprocess.run(["make", "-n", "run", "PORT=5123"], capture_output=True, text=True, env=env).stdout
    assert "核验地址 (PUBLIC_BASE_URL): https://dj.example.gov.cn" in dry


def test_database_url_spellings():
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url(None).startswith("sqlite:///") and database_url(None).endswith("instance/zone.db")


def test_htmx_from_the_cdn_with_sri_and_a_local_fallback(app, client):
    app.config["HTMX_LOCAL_ONLY"] = False
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'src="https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"' in page
    assert 'integrity="sha384-' in page and 'data-local="/static/vendor/htmx-2.0.11.min.js"' in page
    app.config["HTMX_LOCAL_ONLY"] = True
    page = client.get("/auth/login").get_data(as_text=True)
    assert "cdn.jsdelivr.net" not in page and '<script src="/static/vendor/htmx-2.0.11.min.js">' in page


def test_sri_hash_matches_the_local_copy(app):
    import base64
    import hashlib
    from pathlib import Path

    data = (Path(app.static_folder) / "vendor" / f"htmx-{app.config['HTMX_VERSION']}.min.js").read_bytes()
    assert app.config["HTMX_SRI"] == "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def test_unexpected_errors_show_a_chinese_page_without_a_trace(app, client):
    @app.get("/boom")
    def boom():
        raise ZeroDivisionError("secret detail")

    response = client.get("/boom")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "系统出现错误" in page
    assert "Traceback" not in page and "secret detail" not in page


def test_not_found_page_is_chinese(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_create_app_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("AUDIT_KEY", "audit-from-env")  # else development writes one into the project's instance/
    app = create_app("development")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.db") and app.config["SECRET_KEY"] == "from-env"
    assert app.config["AUDIT_KEY"] == "audit-from-env"


def test_workers_starting_together_share_one_generated_key(tmp_path, monkeypatch):
    """gunicorn starts its workers at once: each must read the same development key, or the audit chain would be
    sealed under several."""
    import multiprocessing

    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    with multiprocessing.get_context("fork").Pool(8) as pool:
        keys = pool.map(config._development_secret, ["audit_key"] * 64)
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert [p.name for p in tmp_path.iterdir()] == ["audit_key"]  # no draft left behind
    assert (tmp_path / "audit_key").stat().st_mode & 0o777 == 0o600


def test_the_demo_has_a_term_ending_soon_and_one_expired(app):
    """Each term list (半年内届满, 届满未换届) and the dashboard's counts show something at once."""
    from domain.party_orgs import TermStatus, term_counts
    from seeding.demo import seed_demo

    with app.app_context():
        seed_demo()
        db.session.commit()
        counts = term_counts()
    assert counts[TermStatus.DUE] >= 1 and counts[TermStatus.EXPIRED] >= 1


def test_the_demos_older_organisations_were_founded_when_their_terms_began(app):
    """The two organisations founded a term ago have their founding dated then: the 批复 (number and date), the
    application's history, the committee's seats and the record's start, not the day the demo was seeded."""
    import sqlalchemy as sa

    from domain.zone_time import local_date, local_today
    from models import ApplicationEvent, Document, PartyOrg
    from seeding.demo import seed_demo

    with app.app_context():
        seed_demo()
        db.session.commit()
        older = db.session.scalars(sa.select(PartyOrg).where(PartyOrg.term_start < local_today())).all()
        assert len(older) == 2
        for party_org in older:
            day = party_org.term_start
            assert party_org.established_on == day and {s.started_on for s in party_org.seats} == {day}
            documents = db.session.scalars(sa.select(Document).where(Document.party_org_id == party_org.id)).all()
            assert len(documents) == 2 and {(d.year, local_date(d.issued_at)) for d in documents} == {(day.year, day)}
            history = db.session.scalars(sa.select(ApplicationEvent.at).where(
                ApplicationEvent.application_id == party_org.application_id)).all()
            assert history and {local_date(at) for at in history} == {day}
    # The audit log, stamped by the wall clock, still verifies end to end.
    audit = app.test_cli_runner().invoke(args=["verify-audit"])
    assert audit.exit_code == 0, audit.output
