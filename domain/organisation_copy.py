"""Writing thousands of organisations in one statement (the registry import, domain/registry_import.py).

On PostgreSQL the rows go in by COPY: new ones straight into the table, changed ones into a temporary table that one
UPDATE ... FROM then applies. 110,000 rows written one statement each (executemany) took 7.6 s of a 12-s commit;
by COPY about a third of that (bench/RESULTS.md, issue 34). Elsewhere (SQLite, the tests' and `make run`'s
database) SQLAlchemy's bulk statements, which SQLite runs as fast. Both take the same rows and write the same.
"""
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from models import Organisation, db, utcnow

from .formation_counts import ALL, mark

# What an import writes of an organisation, in the order COPY is given them.
COLUMNS = ("name", "credit_code", "kind", "unit_id", "address", "contact_name", "contact_phone", "employees",
           "formal_members", "probationary_members", "has_party_org", "joint_branch_code")
# What an update may leave as it is: a row without the key keeps the organisation's value (a blank contact, say).
KEPT_UNLESS_GIVEN = ("address", "contact_name", "contact_phone")


def _copying() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _values(row: dict[str, Any]) -> tuple:
    return tuple(row[key].value if key == "kind" else row.get(key) for key in COLUMNS)


def insert_organisations(rows: list[dict[str, Any]], at: datetime | None = None) -> None:
    """Insert new organisations (each row a dict of COLUMNS), in the session's transaction."""
    if not _copying():
        db.session.execute(sa.insert(Organisation), rows)
        return
    at = at or utcnow()
    with _cursor().copy(f"COPY organisations ({', '.join(COLUMNS)}, created_at) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((*_values(row), at))


def update_organisations(rows: list[dict[str, Any]]) -> None:
    """Update organisations by id (each row a dict of id and COLUMNS but credit_code; a key of KEPT_UNLESS_GIVEN
    left out keeps the organisation's value), in the session's transaction."""
    if not _copying():
        db.session.execute(sa.update(Organisation), rows)
        return
    cursor = _cursor()
    # Dropped when the transaction ends, committed or not; emptied for each batch.
    cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS organisation_updates (id integer PRIMARY KEY, "
                   + ", ".join(f"{key} {_type(key)}" for key in COLUMNS) + ") ON COMMIT DROP")
    cursor.execute("TRUNCATE organisation_updates")
    with cursor.copy(f"COPY organisation_updates (id, {', '.join(COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((row["id"], *_values(row)))
    assignments = ", ".join(f"{key} = COALESCE(u.{key}, o.{key})" if key in KEPT_UNLESS_GIVEN else f"{key} = u.{key}"
                            for key in COLUMNS if key != "credit_code")
    cursor.execute(f"UPDATE organisations AS o SET {assignments} FROM organisation_updates AS u WHERE o.id = u.id")


def _type(key: str) -> str:
    return Organisation.__table__.c[key].type.compile(dialect=db.session.get_bind().dialect)


def _cursor():
    # The session's own connection, so that COPY writes in its transaction; marked as written, or its rollback would
    # commit it as a transaction of SELECTs (models/base.py, _commit_reads). And past the session's notice: the
    # formation rate's kept counts are marked for a recount at the commit, as a set-based statement marks them.
    connection = db.session.connection()
    connection.info["wrote"] = True
    mark(db.session(), ALL)
    return connection.connection.driver_connection.cursor()
