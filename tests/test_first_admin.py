"""The first administrator, no demo accounts in production, passwords an administrator set, and privileged accounts
told to those who should know."""
import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from domain.accounts import DEMO_PASSWORD
from models import AuditEvent, Notification, Role, User, db
from tests.conftest import PASSWORD, make_test_app

ADMIN_PASSWORD = "first-admin-2026"


def _user(app, username: str) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).filter_by(username=username))
        db.session.expunge(user)
        return user


# ---------------------------------------------------------------- create-admin

def test_create_admin_reads_the_password_from_the_environment(app, client):
    result = app.test_cli_runner().invoke(args=["create-admin", "boss"], env={"ADMIN_PASSWORD": ADMIN_PASSWORD})
    assert result.exit_code == 0 and "已创建系统管理员 boss" in result.output
    user = _user(app, "boss")
    assert (user.role, user.active, user.must_change_password, user.demo) == (Role.ADMIN, True, False, False)
    # Its own password needs no change: it opens the admin's pages at once.
    response = client.post("/auth/login", data={"username": "boss", "password": ADMIN_PASSWORD})
    assert response.headers["Location"] == "/admin/"
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.summary).where(AuditEvent.action == "create_admin")) == \
            "从服务器命令行创建系统管理员账号 boss"


def test_create_admin_prompts_twice_without_echo(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "boss"], env={"ADMIN_PASSWORD": None},
                                          input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "密码" in result.output and "再次输入密码" in result.output and ADMIN_PASSWORD not in result.output
    assert _user(app, "boss").role is Role.ADMIN


def test_create_admin_refuses_two_different_passwords(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "boss"], env={"ADMIN_PASSWORD": None},
                                          input=f"{ADMIN_PASSWORD}\nsomething-else-1\n")
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(sa.select(User.id).filter_by(username="boss")) is None


@pytest.mark.parametrize("password, message", [
    (DEMO_PASSWORD, "不能使用演示密码 demo-2026"),
    ("short1", "密码至少8位，且须同时包含字母和数字"),
    ("onlyletters", "密码至少8位，且须同时包含字母和数字"),
])
def test_create_admin_refuses_the_demo_password_and_weak_ones(app, password, message):
    result = app.test_cli_runner().invoke(args=["create-admin", "boss"], env={"ADMIN_PASSWORD": password})
    assert result.exit_code == 1 and message in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_create_admin_refuses_a_taken_username(app, make_user):
    make_user("finance", username="boss")
    result = app.test_cli_runner().invoke(args=["create-admin", "boss"], env={"ADMIN_PASSWORD": ADMIN_PASSWORD})
    assert result.exit_code == 1 and "该用户名已被使用" in result.output
    assert _user(app, "boss").role is Role.FINANCE


# ---------------------------------------------------------------- demo accounts

def test_seed_demo_marks_every_account_it_makes(app, make_user):
    own = make_user("admin")
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    with app.app_context():
        marked = dict(db.session.execute(sa.select(User.username, User.demo)).all())
    assert marked.pop(own.username) is False
    assert len(marked) > 14 and set(marked.values()) == {True}


def _production(uri: str):
    return create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": uri})


def test_production_refuses_to_start_while_a_demo_account_exists(app, make_user, production_env):
    make_user("admin", username="boss")
    demo = make_user("zone_approver", username="zone")
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == demo.id).values(demo=True))
        db.session.commit()
    with pytest.raises(RuntimeError, match="演示数据创建的账号（密码公开在说明文档中）：zone。.*seed-demo"):
        _production(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        db.session.execute(sa.update(User).values(demo=False))
        db.session.commit()
    started = _production(app.config["SQLALCHEMY_DATABASE_URI"])
    assert started.test_client().get("/auth/login").status_code == 200
    with started.app_context():
        db.engine.dispose()


def test_a_fresh_install_migrates_with_the_production_app_and_then_checks_at_the_first_request(tmp_path,
                                                                                              production_env):
    """`flask db upgrade` builds the production app before users.demo exists: it starts, and the check waits for a
    request that can make it."""
    application = _production(f"sqlite:///{tmp_path / 'fresh.db'}")
    with application.app_context():
        upgrade()
        db.session.add(User(username="zone", name="演示", role=Role.ZONE_APPROVER, password_hash="x", demo=True))
        db.session.commit()
    client = application.test_client()
    refused = client.get("/auth/login")
    assert refused.status_code == 503 and "zone" not in refused.get_data(as_text=True)
    with application.app_context():
        db.session.execute(sa.delete(User))
        db.session.commit()
    assert client.get("/auth/login").status_code == 200
    with application.app_context():
        db.engine.dispose()


def test_seed_demo_runs_only_in_development_and_testing(app):
    app.config["ENV_NAME"] = "production"
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 1 and "只有 APP_ENV 为 development 或 testing 时才能执行" in result.output


def test_the_migration_marks_demo_accounts_made_before_it(tmp_path):
    from werkzeug.security import generate_password_hash

    app = make_test_app(f"sqlite:///{tmp_path / 'old.db'}")
    with app.app_context():
        upgrade(revision="c3a9b50c6889")
        with db.engine.begin() as conn:
            for i, (username, password) in enumerate([("admin", DEMO_PASSWORD), ("zone", "changed-2026"),
                                                      ("contact-00001x", DEMO_PASSWORD), ("wang", DEMO_PASSWORD)]):
                conn.execute(sa.text("INSERT INTO users (id, username, password_hash, name, role, active, created_at) "
                                     "VALUES (:id, :username, :hash, 'x', 'admin', 1, '2026-12-01 00:00:00')"),
                             dict(id=i + 1, username=username, hash=generate_password_hash(password)))
        upgrade(revision="2963de004917")
        with db.engine.connect() as conn:
            marked = dict(conn.execute(sa.text("SELECT username, demo FROM users")).all())
        db.engine.dispose()
    assert marked == {"admin": 1, "zone": 0, "contact-00001x": 1, "wang": 0}


# ---------------------------------------------------------------- a password an administrator set

def _log_in(client, username: str, password: str = PASSWORD):
    return client.post("/auth/login", data={"username": username, "password": password})


def _new_official(client, role: str, username: str, password: str = "first-pass-1", **extra):
    return client.post("/admin/users/new", data={"username": username, "name": "新同事", "role": role,
                                                 "unit_id": 0, "instructor_id": 0, "password": password, **extra})


def test_a_new_accounts_password_opens_only_the_password_change(app, client, login_as):
    login_as("admin")
    assert _new_official(client, "finance", "cashier").status_code == 302
    own = app.test_client()
    assert _log_in(own, "cashier", "first-pass-1").headers["Location"] == "/auth/password"
    page = own.get("/finance/")
    assert page.status_code == 302 and page.headers["Location"] == "/auth/password"
    assert "管理员为您设置的密码只能使用一次" in own.get("/auth/password").get_data(as_text=True)
    htmx = own.get("/finance/", headers={"HX-Request": "true"})
    assert htmx.status_code == 403 and "管理员为您设置的密码只能使用一次" in htmx.get_data(as_text=True)
    changed = own.post("/auth/password", data={"current": "first-pass-1", "password": "own-pass-22",
                                               "password_confirm": "own-pass-22"})
    assert changed.headers["Location"] == "/finance/"
    assert own.get("/finance/").status_code == 200
    assert _user(app, "cashier").must_change_password is False


def test_logging_out_is_allowed_before_the_change(app, make_user):
    user = make_user("finance")
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user.id).values(must_change_password=True))
        db.session.commit()
    client = app.test_client()
    _log_in(client, user.username)
    assert client.post("/auth/logout").headers["Location"] == "/auth/login"
    assert client.get("/finance/").headers["Location"].startswith("/auth/login")


def test_a_reset_password_must_be_changed_at_the_next_login(app, client, login_as, make_user):
    login_as("admin")
    user = make_user("zone_approver")
    assert client.post(f"/admin/users/{user.id}/password", data={"password": "reset-pass-1"}).status_code == 302
    other = app.test_client()
    assert _log_in(other, user.username, "reset-pass-1").headers["Location"] == "/auth/password"
    assert other.get("/applications/").headers["Location"] == "/auth/password"


# ---------------------------------------------------------------- privileged accounts are told

def _notices(app) -> dict[str, list[str]]:
    with app.app_context():
        rows = db.session.execute(sa.select(User.username, Notification.message).join(Notification.user)
                                  .order_by(User.username)).all()
    found = {}
    for username, message in rows:
        found.setdefault(username, []).append(message)
    return found


@pytest.mark.parametrize("role", ["zone_approver", "finance", "admin"])
def test_a_privileged_account_is_audited_and_told_to_the_other_admins_and_the_zone(app, client, login_as, make_user,
                                                                                  role):
    actor = login_as("admin", username="admin-one")
    make_user("admin", username="admin-two")
    make_user("zone_approver", username="zone-one")
    make_user("finance", username="finance-one")
    make_user("unit_reviewer", username="reviewer-one")
    make_user("zone_approver", username="zone-gone", active=False)
    assert _new_official(client, role, "newcomer").status_code == 302
    label = Role(role).label
    told = f"{actor.name}（admin-one）创建了账号：newcomer（新同事），角色为{label}。如非您所知的安排，请立即核查。"
    assert _notices(app) == {"admin-two": [told], "zone-one": [told]}
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "create_user"))
        assert (event.actor_id, event.data) == (actor.id, {"role": role})


def test_a_reviewer_account_is_audited_and_told_to_nobody(app, client, login_as, make_user):
    login_as("admin")
    make_user("zone_approver")
    unit_id = make_user("unit_reviewer").unit_id
    assert _new_official(client, "unit_reviewer", "newcomer", unit_id=unit_id).status_code == 302
    assert _notices(app) == {}
    with app.app_context():
        assert db.session.scalar(sa.select(AuditEvent.data).where(AuditEvent.action == "create_user")) == \
            {"role": "unit_reviewer"}


def test_create_admin_is_told_to_every_admin_and_the_zone(app, make_user):
    make_user("admin", username="admin-one")
    make_user("zone_approver", username="zone-one")
    app.test_cli_runner().invoke(args=["create-admin", "boss"], env={"ADMIN_PASSWORD": ADMIN_PASSWORD})
    told = "服务器命令行创建了系统管理员账号：boss（系统管理员），角色为系统管理员。如非您所知的安排，请立即核查。"
    assert _notices(app) == {"admin-one": [told], "zone-one": [told]}


def test_the_notices_page_shows_an_account_notice(app, client, login_as, make_user):
    login_as("zone_approver")
    app.test_cli_runner().invoke(args=["create-admin", "boss"], env={"ADMIN_PASSWORD": ADMIN_PASSWORD})
    page = client.get("/applications/notifications")
    assert page.status_code == 200 and "服务器命令行创建了系统管理员账号：boss" in page.get_data(as_text=True)
