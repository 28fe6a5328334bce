"""A production app and the demo accounts: seed-demo's accounts have a published password, so a production app
that finds one refuses to run."""
import sqlalchemy as sa
from flask import Flask, render_template
from sqlalchemy.exc import NoSuchTableError, OperationalError, ProgrammingError

from domain.accounts import demo_accounts
from extensions import db

from .errors import ERROR_MESSAGES


def _demo_accounts_found(app: Flask) -> list[str] | None:
    """The accounts seed-demo made, or None when the database cannot say yet: not reachable, or not migrated as far
    as users.demo (a fresh install's `flask db upgrade` builds this very app before the column exists)."""
    with app.app_context():
        try:
            if "demo" not in {column["name"] for column in sa.inspect(db.engine).get_columns("users")}:
                return None
            return demo_accounts()
        except (NoSuchTableError, OperationalError):
            return None
        finally:
            db.session.remove()
            db.engine.dispose()  # a worker forked from here must open its own connections


def _demo_accounts_message(names: list[str]) -> str:
    shown = "、".join(names[:20]) + (f" 等 {len(names)} 个" if len(names) > 20 else "")
    return (f"生产环境的数据库中有演示数据创建的账号（密码公开在说明文档中）：{shown}。请改用未写入演示数据的数据库，"
            f"用 flask create-admin 创建管理员 (the production database holds accounts made by seed-demo, whose "
            f"password is published: {', '.join(names[:20])}; use a database without demo data)")


def refuse_demo_accounts(app: Flask) -> None:
    """A production app refuses to start while an account made by seed-demo exists: anyone who read the README could
    log in with it. Checked here, at start-up, where an operator sees it at once. When the database cannot say yet
    (_demo_accounts_found), every request checks instead until it can, and while such an account exists the site
    answers 503 and the log names the accounts (the page does not: the names and the password are a way in)."""
    found = _demo_accounts_found(app)
    if found:
        raise RuntimeError(_demo_accounts_message(found))
    if found is not None:
        return
    checked = []

    @app.before_request
    def _no_demo_accounts():
        if checked:
            return None
        try:
            names = demo_accounts()
        except (ProgrammingError, OperationalError):
            db.session.rollback()
            return None  # not migrated or not reachable yet: the page's own error says so
        if names:
            app.logger.error(_demo_accounts_message(names))
            return render_template("errors/unavailable.html", message=ERROR_MESSAGES[503]), 503
        checked.append(True)
        return None
