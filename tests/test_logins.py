"""Logins an attacker cannot turn against officials: next= stays on this site, wrong guesses each count, an unknown
name answers as a wrong password does, a stranger elsewhere cannot lock an official out, and production's counts
are shared by every worker."""
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa

import domain.accounts as accounts
from blueprints.auth import _safe_next
from domain import DomainError
from domain.accounts import LoginLimits, authenticate
from models import AuditEvent, LoginFailure, db, utcnow
from tests.conftest import PASSWORD, race, racers

OWN, STRANGER, OTHER = "192.0.2.10", "203.0.113.66", "198.51.100.7"

# What a browser could read as another origin, each as the view receives it (the query argument decoded once).
HOSTILE_NEXT = [
    "//evil.example/", "///evil.example", "////evil.example", "/\\evil.example", "\\\\evil.example",
    "/\\/evil.example", "\\/evil.example", "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example",
    "\t//evil.example", " //evil.example", "https://evil.example/", "https:evil.example", "http:/evil.example",
    "HTTPS://evil.example", "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "evil.example",
    "%2F%2Fevil.example", "/%2Fevil.example", "/%2f%2fevil.example", "/%5Cevil.example", "%5C%5Cevil.example",
    "/%09/evil.example", "/%0a/evil.example", "/%0D%0A/evil.example", "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example", "/\uff0fevil.example", "\uff0f\uff0fevil.example", "/\u2215evil.example",
    "/\uff3cevil.example", "/%EF%BC%8Fevil.example", "/\u3000/evil.example", "/\u00a0/evil.example",
    "/ /evil.example", "/\x00/evil.example", "/%00/evil.example", "/\x7f/evil.example",
]


def _login(client, username, password=PASSWORD, address=OWN, query=""):
    return client.post(f"/auth/login{query}", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _page(response, username: str) -> str:
    """The answer's page with the typed username and the session's own CSRF token taken out."""
    page = response.get_data(as_text=True).replace(f'value="{username}"', 'value="NAME"')
    return re.sub(r'"X-CSRFToken": "[^"]*"', '"X-CSRFToken": "TOKEN"', page)


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_a_next_that_leaves_the_site_falls_back_to_the_roles_home(app, make_user, target):
    user = make_user("admin")
    response = _login(app.test_client(), user.username, query="?next=" + quote(target, safe=""))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_the_next_check_holds_without_the_query_cleaning(target):
    """The request class strips control characters from query arguments before a view sees them; the check does not
    count on that."""
    assert _safe_next(target) is None


@pytest.mark.parametrize("target", ["/admin/users/new", "/admin/?role=zone_approver", "/registry/?q=%E9%80%9A%E8%BE%BD",
                                    "/applications/12#history"])
def test_a_next_on_this_site_is_followed(app, make_user, target):
    user = make_user("admin")
    response = _login(app.test_client(), user.username, query="?next=" + quote(target, safe=""))
    assert response.headers["Location"] == target


def test_parallel_wrong_guesses_each_count(app, make_user):
    user = make_user("zone_approver")
    n = racers(app)

    def attempt(_, start):
        start()
        try:
            authenticate(user.username, "wrong-pass-1", address=STRANGER, limits=LoginLimits(max_failures=1000))
        except DomainError as refused:
            db.session.commit()
            return refused.message
        return "logged in"

    assert race(app, attempt, list(range(n))) == ["用户名或密码错误"] * n
    with app.app_context():
        assert db.session.scalar(sa.select(LoginFailure.failures)) == n


def test_parallel_wrong_guesses_past_the_limit_lock_the_address_once(app, make_user):
    user = make_user("zone_approver")

    def attempt(_, start):
        start()
        try:
            authenticate(user.username, "wrong-pass-1", address=STRANGER)
        except DomainError:
            db.session.commit()

    race(app, attempt, list(range(racers(app))))
    with app.app_context():
        assert db.session.scalar(sa.select(LoginFailure.locked_until)) > utcnow() + timedelta(minutes=14)
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "lock_user")) == 1


def _hashes_checked(monkeypatch) -> list[str]:
    checked, real = [], accounts.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash.split("$")[0])  # the method and its cost, e.g. scrypt:32768:8:1
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", spy)
    return checked


def test_an_unknown_username_is_answered_as_a_wrong_password_is(app, make_user, monkeypatch):
    user = make_user("finance", username="finance-li")
    checked = _hashes_checked(monkeypatch)
    wrong = _page(_login(app.test_client(), "finance-li", "wrong-pass-1"), "finance-li")
    unknown = _page(_login(app.test_client(), "finance-wu", "wrong-pass-1"), "finance-wu")
    assert unknown == wrong and "用户名或密码错误" in wrong
    # One scrypt check each, of the same cost: the unknown name takes as long as the wrong password.
    assert len(checked) == 2 and checked[0] == checked[1] == user.password_hash.split("$")[0]


def test_an_unknown_username_is_locked_out_as_an_existing_one_is(app, make_user):
    make_user("finance", username="finance-li")
    answers = {}
    for name in ("finance-li", "finance-wu"):
        client = app.test_client()
        for _ in range(5):
            _login(client, name, "wrong-pass-1", address=STRANGER)
        answers[name] = _page(_login(client, name, address=STRANGER), name)
    assert answers["finance-li"] == answers["finance-wu"]
    assert "此用户名已暂停从您当前的网络地址登录，请 15 分钟后再试" in answers["finance-li"]


def test_the_owner_logs_in_from_their_own_address_while_a_stranger_hammers(app, make_user):
    user = make_user("zone_approver")
    stranger, owner = app.test_client(), app.test_client()
    answers = [_login(stranger, user.username, "wrong-pass-1", address=STRANGER).status_code for _ in range(12)]
    assert _login(owner, user.username, address=OWN).headers["Location"] == "/applications/"
    answers += [_login(stranger, user.username, address=STRANGER).status_code for _ in range(3)]
    assert answers == [200] * 15  # the stranger is refused even with the right password: that address is locked
    assert "此用户名已暂停从您当前的网络地址登录" in _login(stranger, user.username, address=STRANGER).get_data(
        as_text=True)
    with app.app_context():
        # Only the stranger's address is locked, and its wrong guesses past the lock were not even counted.
        assert db.session.execute(sa.select(LoginFailure.address, LoginFailure.failures)).all() == [(STRANGER, 5)]


@pytest.fixture
def clock(monkeypatch):
    """The logins' clock, moved by hand."""
    now = [utcnow()]
    monkeypatch.setattr(accounts, "utcnow", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += timedelta(seconds=seconds)

    return advance


def test_other_addresses_slow_down_with_every_failure_but_are_not_locked_by_others(app, make_user, clock,
                                                                                   monkeypatch):
    user = make_user("zone_approver")
    for _ in range(5):
        _login(app.test_client(), user.username, "wrong-pass-1", address=STRANGER)
    client = app.test_client()
    # Another address's first try is answered at once: whoever it is, the stranger's failures do not stop it.
    assert "用户名或密码错误" in _login(client, user.username, "wrong-pass-1", address=OTHER).get_data(as_text=True)
    checked = _hashes_checked(monkeypatch)
    assert "登录尝试过于频繁，请 2 秒后再试" in _login(client, user.username, address=OTHER).get_data(as_text=True)
    assert checked == []  # refused before any password was hashed: waiting costs the server nothing
    clock(2)
    assert "用户名或密码错误" in _login(client, user.username, "wrong-pass-1", address=OTHER).get_data(as_text=True)
    assert "登录尝试过于频繁，请 4 秒后再试" in _login(client, user.username, address=OTHER).get_data(as_text=True)
    clock(4)
    assert _login(client, user.username, address=OTHER).headers["Location"] == "/applications/"


def test_the_wait_is_capped(app, make_user, clock):
    user = make_user("zone_approver")
    with app.app_context():
        now = accounts.utcnow()  # the test's clock
        db.session.add_all(LoginFailure(username=user.username, address=f"203.0.113.{i}", failures=5,
                                        last_failed_at=now, locked_until=now + timedelta(minutes=15))
                           for i in range(10))
        db.session.commit()
    client = app.test_client()
    _login(client, user.username, "wrong-pass-1", address=OTHER)
    assert "登录尝试过于频繁，请 60 秒后再试" in _login(client, user.username, address=OTHER).get_data(as_text=True)
    clock(60)
    assert _login(client, user.username, address=OTHER).status_code == 302


def test_failures_older_than_the_lock_count_no_more(app, make_user, clock):
    user = make_user("zone_approver")
    client = app.test_client()
    for _ in range(4):
        _login(client, user.username, "wrong-pass-1", address=STRANGER)
    clock(15 * 60 + 1)
    _login(client, user.username, "wrong-pass-1", address=STRANGER)
    with app.app_context():
        assert db.session.execute(sa.select(LoginFailure.failures, LoginFailure.locked_until)).one() == (1, None)


def test_a_successful_login_clears_its_addresss_failures_only(app, make_user):
    user = make_user("zone_approver")
    _login(app.test_client(), user.username, "wrong-pass-1", address=STRANGER)
    client = app.test_client()
    _login(client, user.username, "wrong-pass-1", address=OWN)
    assert _login(client, user.username, address=OWN).status_code == 302
    with app.app_context():
        assert db.session.scalars(sa.select(LoginFailure.address)).all() == [STRANGER]


@pytest.mark.parametrize("storage, allow, refused", [
    ("memory://", None, True), ("memory://", "1", False), ("redis://127.0.0.1:6379", None, False),
])
def test_production_refuses_per_worker_rate_limit_counts_unless_one_worker_is_meant(production_env, storage, allow,
                                                                                    refused):
    from config import ProductionConfig

    monkeypatch = production_env
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", storage)
    if allow is None:
        monkeypatch.delenv("RATELIMIT_ALLOW_MEMORY", raising=False)
    else:
        monkeypatch.setenv("RATELIMIT_ALLOW_MEMORY", allow)
    if refused:
        with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI 不能是 memory://.*RATELIMIT_ALLOW_MEMORY=1"):
            ProductionConfig()
    else:
        assert ProductionConfig().RATELIMIT_STORAGE_URI == storage


def test_guesses_spread_over_many_addresses_are_slowed_too(app, make_user, clock):
    """One wrong guess from each of many addresses (an IPv6 range has millions): past LoginLimits.spread_failures
    from all of them together, a new address waits its turn as well, and the owner gets in once the wait is over."""
    user = make_user("zone_approver")
    answers = [_page(_login(app.test_client(), user.username, "wrong-pass-1", address=f"2001:db8::{n:x}"),
                     user.username) for n in range(30)]
    guessed = sum("用户名或密码错误" in page for page in answers)
    assert guessed == 20 and all("请 1 秒后再试" in page for page in answers[20:])  # 20 checked, then a wait
    waiting = _login(app.test_client(), user.username, address=OWN)
    assert "登录尝试过于频繁" in waiting.get_data(as_text=True)  # slowed like everyone, never locked out
    clock(2)
    assert _login(app.test_client(), user.username, address=OWN).headers["Location"] == "/applications/"
