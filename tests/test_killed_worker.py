"""A worker killed in the middle of an approval or of a batch payment leaves nothing half done.

The worker is a real process (as a gunicorn worker is) that starts the action, writes part of it to the
database inside its transaction, says so, and waits; the test kills it with SIGKILL, which no Python code can
catch. The database must then show none of it: the transaction dies with its connection (PostgreSQL rolls it
back; SQLite rolls back its journal when the next connection opens the file), and the same action then works.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from domain import applications as verbs
from domain import funds
from models import (
    AppState, Application, AuditEvent, BatchState, DisbursementBatch, Document, DocumentCounter, FundItem,
    FundPayment, FundState, Instructor, Role, User, db,
)
from tests.conftest import zone_today

ROOT = Path(__file__).resolve().parent.parent

# The worker: does the action in `ACTION` and, at the point marked by `hang()`, flushes what it has done so
# far to the database (uncommitted), writes the marker file and sleeps until it is killed.
WORKER = r"""
import sys, time
from pathlib import Path
from tests.conftest import make_test_app, zone_today
from models import db

uri, action, marker, ids = sys.argv[1], sys.argv[2], Path(sys.argv[3]), [int(x) for x in sys.argv[4:]]

def hang(*args, **kwargs):
    db.session.flush()
    marker.write_text("in the middle")
    time.sleep(120)

app = make_test_app(uri)
with app.app_context():
    from models import Application, DisbursementBatch, Instructor, User
    if action == "approve":
        import domain.documents
        from domain import applications as verbs
        domain.documents.lay_out_document = hang  # after the state change and the number, before the PDF
        application, actor, instructor = (db.session.get(Application, ids[0]), db.session.get(User, ids[1]),
                                          db.session.get(Instructor, ids[2]))
        verbs.approve_application(application, actor=actor, version=application.version, instructor=instructor)
    else:
        from datetime import date
        import domain.funds.payments
        from domain import funds
        paid = []
        real_record = domain.funds.payments.record_acted
        def record_then_hang(*args, **kwargs):  # hangs after the third item of the batch is paid
            real_record(*args, **kwargs)
            paid.append(1)
            if len(paid) == 3:
                hang()
        domain.funds.payments.record_acted = record_then_hang
        batch, actor = db.session.get(DisbursementBatch, ids[0]), db.session.get(User, ids[1])
        funds.record_batch_payment(batch, voucher_number="记-001", paid_on=zone_today(), actor=actor,
                                   version=batch.version)
    db.session.commit()
"""


def _kill_in_the_middle(app, action: str, ids: list[int], tmp_path) -> None:
    marker = tmp_path / "marker"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, app.config["SQLALCHEMY_DATABASE_URI"], action, str(marker), *map(str, ids)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert worker.poll() is None, worker.stderr.read().decode()
        assert time.monotonic() < deadline, "the worker never reached the middle of the action"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=10) == -signal.SIGKILL


def test_an_approval_killed_before_its_pdf_leaves_no_trace(app, make_application, make_instructor, make_user,
                                                           tmp_path):
    made = make_application("unit_approved")
    zone, instructor = make_user(Role.ZONE_APPROVER), make_instructor()
    _kill_in_the_middle(app, "approve", [made.id, zone.id, instructor.id], tmp_path)

    with app.app_context():
        application = db.session.get(Application, made.id)
        assert application.state is AppState.UNIT_APPROVED and application.version == made.version
        assert application.instructor_id is None
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
        assert (db.session.scalar(sa.select(sa.func.max(DocumentCounter.last_number))) or 0) == 0
        # Nothing is left locked: the same approval now goes through, and takes number 1.
        verbs.approve_application(application, actor=db.session.get(User, zone.id), version=application.version,
                                  instructor=db.session.get(Instructor, instructor.id))
        db.session.commit()
        assert db.session.scalar(sa.select(Document.serial)) == 1


def test_a_batch_payment_killed_half_way_pays_nothing(app, make_fund, tmp_path):
    made = [make_fund("checked") for _ in range(5)]
    with app.app_context():
        finance = db.session.get(User, make_fund.finance_id[0])
        zone = db.session.get(User, make_fund.zone_id[0])
        batch = funds.create_batch([db.session.get(FundItem, m.id) for m in made], actor=finance)
        funds.submit_batch(batch, actor=finance, version=batch.version)
        funds.approve_batch(batch, actor=zone, version=batch.version)
        db.session.commit()
        batch_id, finance_id, events = batch.id, finance.id, db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    _kill_in_the_middle(app, "pay", [batch_id, finance_id], tmp_path)

    with app.app_context():
        batch = db.session.get(DisbursementBatch, batch_id)
        assert batch.state is BatchState.APPROVED
        assert [i.state for i in batch.items] == [FundState.APPROVED] * 5
        assert db.session.scalar(sa.select(sa.func.count(FundPayment.id))) == 0
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events
        funds.record_batch_payment(batch, voucher_number="记-002", paid_on=zone_today(),
                                   actor=db.session.get(User, finance_id), version=batch.version)
        db.session.commit()
        assert batch.state is BatchState.PAID
        assert db.session.scalar(sa.select(sa.func.count(FundPayment.id))) == 5
