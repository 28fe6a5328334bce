"""What every model shares: the db handle (extensions.py), labelled enums, append-only tables, and how the engine
begins and ends its transactions."""
import enum
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import psycopg
import sqlalchemy as sa
from psycopg.pq import TransactionStatus
from sqlalchemy import event

# UTCDateTime is imported from here by the migrations that name it.
from extensions import UTCDateTime, db  # noqa: F401


# How far the clock that records read (utcnow, and through it the zone's today) stands behind the wall clock: zero,
# but while the demo seeds an organisation founded years ago (seeding/demo.py, clock_set_back).
_clock_behind = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(timezone.utc) - _clock_behind


def wall_clock() -> datetime:
    """The real moment, whatever the records' clock says: what the audit log stamps (when the system acted)."""
    return datetime.now(timezone.utc)


@contextmanager
def clock_set_back(by: timedelta) -> Iterator[None]:
    """Run the records' clock `by` behind the wall clock: what is recorded meanwhile is dated then."""
    global _clock_behind
    _clock_behind = by
    try:
        yield
    finally:
        _clock_behind = timedelta(0)


# psycopg prepares a statement once a connection has run it five times, after which PostgreSQL neither parses nor
# plans it again. But psycopg's rollback() forgets every prepared statement, and every request ends its transaction
# with a rollback (Flask-SQLAlchemy closes the session), so nothing was ever prepared: each query was parsed and
# planned anew, most of PostgreSQL's work for a page (bench/RESULTS.md). A
# transaction that has run only SELECTs is therefore ended with COMMIT, which for it is the same thing; psycopg's
# rollback then finds nothing to undo and keeps its statements. Any other statement (INSERT, UPDATE, DELETE,
# SAVEPOINT, WITH, DDL) marks the transaction, which rolls back as before, and so does a failed one.
# The rule reads the statement's text, so it holds for what goes through SQLAlchemy and begins with SELECT: no
# SELECT of ours writes or has an effect at commit (nextval, setval, SELECT INTO, pg_notify, set_config, a
# function that writes), none sends several statements in one text, and none uses the raw DBAPI cursor. One that
# did would have to mark the transaction itself: conn.info["wrote"] = True.
@event.listens_for(sa.Engine, "begin")
def _transaction_reads_only(conn: sa.Connection) -> None:
    conn.info["wrote"] = False


@event.listens_for(sa.Engine, "before_cursor_execute")
def _note_write(conn: sa.Connection, _cursor, statement: str, _parameters, _context, _executemany) -> None:
    if statement.lstrip()[:6].upper() != "SELECT":
        conn.info["wrote"] = True


@event.listens_for(sa.Engine, "rollback")
def _commit_reads(conn: sa.Connection) -> None:
    if conn.dialect.driver != "psycopg" or conn.closed or conn.invalidated or conn.info.get("wrote", True):
        return
    dbapi_connection = conn.connection.dbapi_connection
    # Not a transaction that failed (INERROR): that one rolls back.
    if dbapi_connection is not None and dbapi_connection.info.transaction_status is TransactionStatus.INTRANS:
        try:
            dbapi_connection.commit()
        except psycopg.Error as error:  # a lost server: the rollback that follows meets it too and drops the line
            logging.getLogger(__name__).warning("commit of a read-only transaction failed: %s", error)


@event.listens_for(sa.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()


# pysqlite (Python's sqlite3 in its default mode) sends BEGIN before an INSERT, UPDATE or DELETE, never before a
# SAVEPOINT. A savepoint that opened a transaction was then SQLite's outermost one, and releasing it committed: what
# a request wrote inside its first begin_nested() (a flush that a unique constraint may refuse) outlived the
# request's rollback, a refused batch its number. The transaction is begun first, and its write lock now lasts
# until it ends, as when pysqlite begins one before a first INSERT (every savepoint of ours starts with a write).
# Not on an AUTOCOMMIT connection (isolation_level None), which must stay without a transaction.
@event.listens_for(sa.Engine, "savepoint")
def _sqlite_begin_before_savepoint(conn: sa.Connection, _name: str) -> None:
    if conn.dialect.name != "sqlite":
        return
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection.isolation_level is not None and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


class LabelledEnum(str, enum.Enum):
    """A string enum whose members carry their Chinese label: `Role.ADMIN.label`."""

    def __new__(cls, value: str, label: str):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    def __str__(self) -> str:
        return self.value

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]


def enum_type(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """Stored as its value in a VARCHAR with a CHECK constraint, the same on SQLite and PostgreSQL."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class AppendOnly:
    """A history table: rows are written once and never changed (a database trigger refuses it too)."""


@event.listens_for(AppendOnly, "before_update", propagate=True)
@event.listens_for(AppendOnly, "before_delete", propagate=True)
def _refuse_change(mapper, connection, target):
    raise RuntimeError(f"{target.__tablename__} is append-only")
