"""The migrations: they build the schema the models describe, and they go down and up again."""
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from models import db
from tests.conftest import make_test_app


def test_upgrade_downgrade_upgrade_on_sqlite(tmp_path):
    app = make_test_app(f"sqlite:///{tmp_path / 'm.db'}")
    with app.app_context():
        upgrade()
        assert "audit_events" in sa.inspect(db.engine).get_table_names()
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert {"units", "organisations", "users", "instructors", "audit_events", "stored_files"} <= set(
            sa.inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_migrations_match_the_models(app):
    """A model change without its revision fails here (on whichever database the suite runs)."""
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []
