"""How a request's transaction ends (models/base.py), and the paged lists' SQL (domain/paging.py).

A transaction that only read is ended with COMMIT on PostgreSQL, so that psycopg keeps the statements it prepared;
one that wrote anything is rolled back as before, on both databases: nothing of an unfinished write may survive.
"""
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from domain.paging import limited, paginate, row_page
from models import Organisation, OrgKind, Role, Unit, db

from .conftest import on_postgresql, unit_by_code, valid_credit_code

PREPARED = sa.text("SELECT count(*) FROM pg_prepared_statements")


def _organisation(name: str) -> Organisation:
    return Organisation(name=name, credit_code=valid_credit_code(), kind=OrgKind.ENTERPRISE,
                        unit=unit_by_code("industrial_park"), contact_name="联系人", contact_phone="13800000000",
                        employees=10, formal_members=3)


def _names(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Organisation.name)))


def test_read_only_requests_keep_the_prepared_statements(app, client, login_as):
    if not on_postgresql(app):
        pytest.skip("psycopg's prepared statements: PostgreSQL only")
    login_as(Role.ZONE_APPROVER)
    for _ in range(7):  # psycopg prepares a statement on its fifth run on one connection
        assert client.get("/applications/?state=all").status_code == 200
    with app.app_context():
        # The pool has handed every request the one connection it holds, and hands it here too.
        assert db.session.scalar(PREPARED) >= 4  # the login's, the rows', the total's and the counters' queries
        statements = db.session.scalars(sa.text("SELECT statement FROM pg_prepared_statements")).all()
    assert any("FROM applications JOIN organisations" in s and "LIMIT 50 OFFSET 0" in s for s in statements)


def test_a_read_after_a_rollback_of_a_write_still_rolls_back(app):
    """The flag is per transaction: a transaction that wrote is rolled back even if the one before only read."""
    with app.app_context():
        db.session.scalar(sa.select(Unit.id).limit(1))
        db.session.rollback()
        db.session.add(_organisation("未提交的组织"))
        db.session.flush()
        db.session.scalar(sa.select(Unit.id).limit(1))
        db.session.rollback()
    assert "未提交的组织" not in _names(app)


@pytest.mark.parametrize("write", ["flush", "update", "delete"])
def test_an_unfinished_write_is_rolled_back_when_the_session_closes(app, make_org, write):
    org = make_org(name="原名称")
    with app.app_context():
        if write == "flush":
            db.session.add(_organisation("未提交的组织"))
            db.session.flush()
        elif write == "update":
            db.session.execute(sa.update(Organisation).where(Organisation.id == org.id).values(name="改名未提交"))
        else:
            db.session.execute(sa.delete(Organisation).where(Organisation.id == org.id))
        db.session.scalar(sa.select(sa.func.count(Organisation.id)))  # a read after the write changes nothing
        db.session.remove()  # as at the end of a request
    assert _names(app) == ["原名称"]


def test_a_request_that_wrote_and_then_failed_leaves_nothing(app):
    def fails_after_writing():
        db.session.add(_organisation("失败请求里的组织"))
        db.session.flush()
        raise RuntimeError("after the write")

    app.add_url_rule("/fails-after-writing", view_func=fails_after_writing)
    response = app.test_client().get("/fails-after-writing")
    assert response.status_code == 500 and "Traceback" not in response.get_data(as_text=True)
    assert "失败请求里的组织" not in _names(app)


def test_a_failed_transaction_rolls_back_and_the_connection_serves_the_next(app, make_org):
    org = make_org()
    with app.app_context():
        db.session.add(_organisation("重复代码的组织"))
        db.session.flush()
        duplicate = _organisation("另一个")
        duplicate.credit_code = org.credit_code
        db.session.add(duplicate)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count(Organisation.id))) == 1
    assert _names(app) == [org.name]


def test_a_write_inside_a_savepoint_is_rolled_back_with_the_transaction(app):
    # On SQLite the savepoint opens the transaction: without the BEGIN that models/base.py sends first, it was
    # SQLite's outermost one, and releasing it committed.
    with app.app_context():
        with db.session.begin_nested():
            db.session.add(_organisation("保存点内的组织"))
        db.session.remove()
    assert "保存点内的组织" not in _names(app)


def test_an_autocommit_connection_still_commits_after_a_savepoint(app):
    # The BEGIN sent before a first savepoint on SQLite (models/base.py) is not for a connection without transactions.
    if on_postgresql(app):
        pytest.skip("PostgreSQL refuses a savepoint outside a transaction block")
    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("CREATE TABLE probe (n INTEGER)"))
            with conn.begin_nested():
                conn.execute(sa.text("INSERT INTO probe VALUES (5)"))
            conn.execute(sa.text("INSERT INTO probe VALUES (7)"))
        with db.engine.connect() as conn:
            assert conn.scalars(sa.text("SELECT n FROM probe ORDER BY n")).all() == [5, 7]


def test_pages_write_their_limit_and_offset_into_the_sql(app, make_org):
    for _ in range(3):
        make_org()
    seen = []

    def log(_conn, _cursor, statement, *_):
        seen.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", log)
        try:
            by_name = sa.select(Organisation).order_by(Organisation.name)
            page = paginate(by_name, 2, per_page=2)
            rows = row_page(limited(sa.select(Organisation.id, Organisation.name).order_by(Organisation.name)),
                            sa.select(sa.func.count(Organisation.id)), 2, per_page=2)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", log)
    assert [o.name for o in page.items] == [r.name for r in rows.items] and len(page.items) == 1
    assert (page.total, page.pages, rows.total, rows.pages) == (3, 2, 3, 2)
    assert sum("LIMIT 2 OFFSET 2" in s for s in seen) == 2, seen


def test_a_page_of_rows_needs_its_select_limited(app, make_org):
    """A select given to row_page without `limited` would show every row on every page: it is refused before it runs,
    whether or not it has more rows than a page."""
    make_org()
    with app.app_context():
        for per_page in (1, 2):
            with pytest.raises(ValueError, match="limited"):
                row_page(sa.select(Organisation.id), sa.select(sa.func.count(Organisation.id)), 2, per_page=per_page)


def test_a_page_past_any_table_is_not_found(client, login_as):
    login_as(Role.ADMIN)
    assert client.get("/admin/?page=99999999999999999999").status_code == 404
    assert client.get("/admin/documents?page=9223372036854775807").status_code == 404
    assert client.get("/admin/?page=2").status_code == 200  # past the last page, but not past the integers
