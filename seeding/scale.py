"""Realistic data at the zone's scale, inserted in bulk: `flask --app app seed-scale --orgs 11000 --applications 5000`.

Most market entities have no Party member; those that do follow the Party rules' bands (1-2 formal members:
joint branch; 3+: a branch of their own). Each application gets the history its state implies, with gaps
of one to ten days between steps, so the dashboard's averages and months have something to show.

Approved applications get their numbered 批复 (documents rows, gapless per year, the counters moved past them)
whose stored file is a small placeholder PDF, not a rendered one: rendering 2,000+ real ones would take minutes,
and bench_pdf.py times the real rendering. Instructed applications get one current assignment (some also an
ended one before it, a reassignment); established ones get guidance visits and part of their 六建六送 checklist.

Established organisations get their startup fund (启动经费) as the funds workflow leaves it, oldest first: most
confirmed and paid in monthly-sized disbursement batches with a voucher each, then one approved batch of 200
items (the disbursement sheet the benchmark times), one submitted and one draft batch, then confirmed items no
batch holds yet, and the newest still waiting for the zone to confirm their amount.
"""
import hashlib
import random
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from stdnum.cn import uscc

from domain.coverage import backfill_coverage
from domain.documents import format_number
from domain.formation_counts import recount
from domain.funds import DEFAULT_STANDARDS, ensure_fund_standards
from domain.party_rules import suggested_kind
from domain.reference import ensure_units
from domain.sealed_fields import COVERED
from domain.settings import get_settings
from models import (
    MAX_FUND, AppState, Application, ApplicationEvent, Assignment, BatchState, ChecklistItem, Delivery,
    DisbursementBatch, Document, DocumentCounter, DocumentKind, FundItem, FundPayment, FundState, GuidanceVisit,
    Instructor, Organisation, OrgKind, PayeeCheckMethod, PaymentKind, Role, StoredFile, User, VisitForm, db,
)
from models.application import days_between

KINDS = [(OrgKind.ENTERPRISE, 0.78), (OrgKind.SOCIAL_ORG, 0.10), (OrgKind.BUILDING, 0.03),
         (OrgKind.PROJECT, 0.04), (OrgKind.STREET_AREA, 0.05)]
SUFFIX = {OrgKind.ENTERPRISE: "有限公司", OrgKind.SOCIAL_ORG: "协会", OrgKind.BUILDING: "大厦",
          OrgKind.PROJECT: "工程项目部", OrgKind.STREET_AREA: "街区商户联合会"}
PLACES = "科尔沁 霍林 西辽河 大青沟 孝庄河 奈曼 扎鲁特 珠日河 库伦 开鲁 明仁 永清 铁南 红星 清河 和平".split()
TRADES = "科技 物流 商贸 建材 餐饮 农牧 电子 能源 化工 医药 文旅 汽贸 家居 印务 环保 信息".split()
# The history each state implies: (action, actor role, state after it).
PATHS = {
    "draft": [("create", Role.APPLICANT, "draft")],
    "submitted": [("create", Role.APPLICANT, "draft"), ("submit", Role.APPLICANT, "submitted")],
    "returned": [("create", Role.APPLICANT, "draft"), ("submit", Role.APPLICANT, "submitted"),
                 ("return", Role.UNIT_REVIEWER, "returned")],
    "unit_approved": [("create", Role.APPLICANT, "draft"), ("submit", Role.APPLICANT, "submitted"),
                      ("pass", Role.UNIT_REVIEWER, "unit_approved")],
    "rejected": [("create", Role.APPLICANT, "draft"), ("submit", Role.APPLICANT, "submitted"),
                 ("pass", Role.UNIT_REVIEWER, "unit_approved"), ("reject", Role.ZONE_APPROVER, "rejected")],
    "withdrawn": [("create", Role.APPLICANT, "draft"), ("withdraw", Role.APPLICANT, "withdrawn")],
}
PATHS["approved"] = PATHS["unit_approved"] + [("approve", Role.ZONE_APPROVER, "approved")]
PATHS["election_reported"] = PATHS["approved"] + [("report_election", Role.APPLICANT, "election_reported")]
PATHS["established"] = PATHS["election_reported"] + [("establish", Role.ZONE_APPROVER, "established")]
STATE_WEIGHTS = {"established": 40, "approved": 8, "election_reported": 5, "unit_approved": 8, "submitted": 12,
                 "returned": 5, "draft": 10, "rejected": 6, "withdrawn": 6}
BATCH = 2000
# A valid, tiny PDF: the scale rows' documents only need bytes to list, download and hash.
PLACEHOLDER_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
                   b"endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n"
                   b"%%EOF\n")


def _code(n: int) -> str:
    body = f"92150500MA{n:07d}"
    return body + uscc.calc_check_digit(body)


def _members(rng: random.Random) -> tuple[int, int]:
    band = rng.random()
    if band < 0.86:
        return 0, 0
    if band < 0.92:
        return rng.randint(1, 2), rng.randint(0, 1)
    if band < 0.98:
        return rng.randint(3, 6), rng.randint(0, 2)
    return rng.randint(7, 60), rng.randint(0, 5)


def _insert(model, rows: list[dict]) -> None:
    # The money's tables go through the ORM's INSERT even on PostgreSQL: that statement is what has their rows
    # recorded in the audit log (domain/sealed_fields.py), without which every later change to them is refused.
    if rows and db.engine.dialect.name == "postgresql" and model not in COVERED:
        _copy(model.__table__, rows)
        return
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(model), rows[start:start + BATCH])


def _copy(table: sa.Table, rows: list[dict]) -> None:
    """PostgreSQL's COPY, four times faster than the INSERTs' executemany (110,000 organisations: 600,000 rows).

    As an INSERT would: the columns the rows leave out get their Python default, and every value goes through its
    column's type (an enum is stored as its value)."""
    dialect = db.engine.dialect
    defaults = {c.name: c.default for c in table.c
                if c.name not in rows[0] and c.default is not None and (c.default.is_scalar or c.default.is_callable)}
    keys = list(rows[0])
    names = keys + list(defaults)
    fixed = [d.arg if d.is_scalar else d.arg(None) for d in defaults.values()]
    procs = [table.c[name].type._cached_bind_processor(dialect) or (lambda v: v) for name in names]
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([proc(v) for proc, v in zip(procs, [*(row[k] for k in keys), *fixed])])


def bench_account(username: str, name: str, role: Role, password: str) -> User:
    """The benchmarks' account of that name, created (and flushed, so it has an id) on the first run."""
    user = db.session.scalar(sa.select(User).filter_by(username=username))
    if user is None:
        user = User(username=username, name=name, role=role)
        user.set_password(password)
        db.session.add(user)
        db.session.flush()
    return user


def seed_scale(orgs: int, applications: int, seed: int = 20261128) -> dict[str, int]:
    """Insert `orgs` organisations and `applications` applications with their histories, in bulk."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    units = {u.code: u.id for u in ensure_units()}
    unit_ids = list(units.values())
    start_org = (db.session.scalar(sa.select(sa.func.max(Organisation.id))) or 0) + 1
    first_code = start_org + 1_000_000  # away from the demo data's codes

    actor = bench_account("scale-zone", "压测党工委", Role.ZONE_APPROVER, "scale-2026")
    instructor_rows = [dict(name=f"指导员{n:02d}", home_organ="开发区党工委组织部", capacity=rng.randint(2, 5))
                       for n in range(61)]
    _insert(Instructor, instructor_rows)
    db.session.flush()
    instructor_ids = list(db.session.scalars(sa.select(Instructor.id).order_by(Instructor.id.desc()).limit(61)))

    kinds, weights = zip(*KINDS)
    org_rows, hosts = [], []
    applied = min(applications, orgs)
    for i in range(orgs):
        kind = rng.choices(kinds, weights)[0]
        # The organisations that apply have a branch's worth of members; the rest follow the registry's bands.
        formal, probationary = (rng.randint(3, 12), rng.randint(0, 2)) if i < applied else _members(rng)
        own = i >= applied and formal >= 3 and rng.random() < 0.7
        row = dict(id=start_org + i, name=f"{rng.choice(PLACES)}{rng.choice(TRADES)}{i}{SUFFIX[kind]}",
                   credit_code=_code(first_code + i), kind=kind, unit_id=rng.choice(unit_ids),
                   address=f"开发区{rng.choice(PLACES)}路{rng.randint(1, 999)}号", contact_name="", contact_phone="",
                   employees=rng.randint(1, 800), formal_members=formal, probationary_members=probationary,
                   has_party_org=own, joint_branch_code=None,
                   created_at=now - timedelta(days=rng.randint(30, 1100)))
        if own:
            hosts.append(row["credit_code"])
        elif 0 < formal + probationary and formal < 3 and hosts and rng.random() < 0.5:
            row["joint_branch_code"] = rng.choice(hosts)
        org_rows.append(row)

    states, state_weights = zip(*STATE_WEIGHTS.items())
    start_app = (db.session.scalar(sa.select(sa.func.max(Application.id))) or 0) + 1
    app_rows, event_rows, approved_at = [], [], {}
    for i in range(applied):
        org = org_rows[i]
        state = rng.choices(states, state_weights)[0]
        at = now - timedelta(days=rng.randint(20, 700))
        submitted_at = None
        for action, role, after in PATHS[state]:
            event_rows.append(dict(application_id=start_app + i, at=at, actor_id=actor.id, actor_role=role,
                                   action=action, from_state=None if action == "create" else prev,
                                   to_state=AppState(after), comment="", internal_note="",
                                   days_since_previous=None if action == "create" else days_between(last, at)))
            prev, last = AppState(after), at
            if action == "submit":
                submitted_at = at
            if action == "approve":
                approved_at[start_app + i] = at
            at += timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 23))
        if state == "established":
            org["has_party_org"], org["joint_branch_code"] = True, None
        instructed = state in ("approved", "election_reported", "established")
        app_rows.append(dict(id=start_app + i, organisation_id=org["id"], unit_id=org["unit_id"], state=AppState(state),
                             version=len(PATHS[state]), state_changed_at=last, submitted_at=submitted_at,
                             created_at=event_rows[-len(PATHS[state])]["at"],
                             requested_kind=suggested_kind(org["formal_members"], org["probationary_members"]),
                             formal_members=org["formal_members"], probationary_members=org["probationary_members"],
                             proposed_secretary="", partner_organisations="", work_need=False, reasons="",
                             instructor_id=rng.choice(instructor_ids) if instructed else None))
    _insert(Organisation, org_rows)
    _insert(Application, app_rows)
    _insert(ApplicationEvent, event_rows)
    _analyze()  # the backfill's plan needs the tables' sizes: unanalysed, it took 416 s at 110,000 organisations
    backfill_coverage()  # covered since the establish step, or since entering the registry
    recount()  # the formation rate's kept counts: COPY wrote the organisations past the session's notice
    extra = _guidance_and_documents(rng, app_rows, approved_at, instructor_ids, actor.id, now)
    extra.update(_funds(rng, app_rows, {o["id"]: o for o in org_rows}, actor.id, now))
    if db.engine.dialect.name == "postgresql":
        # Explicit ids leave the sequences behind; move them past what was inserted.
        for table in ("organisations", "applications", "stored_files", "fund_items", "disbursement_batches"):
            db.session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT max(id) FROM {table}))"))
    db.session.flush()
    _analyze()
    return {"organisations": len(org_rows), "applications": len(app_rows), "events": len(event_rows),
            "instructors": len(instructor_rows), **extra}


SEEDED = ("organisations", "applications", "application_events", "coverage_changes", "instructors", "assignments",
          "guidance_visits", "deliveries", "stored_files", "documents", "disbursement_batches", "fund_items",
          "fund_payments")


def _analyze() -> None:
    if db.engine.dialect.name == "postgresql":
        # A running server's autovacuum has analysed tables this size long ago; right after a bulk load the planner
        # would still assume they are nearly empty and pick nested loops (28 ms instead of 7 ms for the load table).
        # The seeded tables by name: a bare ANALYZE also analyses the shared catalogues, whose locks it would hold
        # until the seed commits, stalling every other database's ANALYZE on the server meanwhile.
        db.session.execute(sa.text(f"ANALYZE {', '.join(SEEDED)}"))


def _guidance_and_documents(rng: random.Random, app_rows: list[dict], approved_at: dict, instructor_ids: list[int],
                            actor_id: int, now: datetime) -> dict[str, int]:
    """Assignments, 批复 documents (placeholder PDFs), visits and deliveries for the instructed applications."""
    instructed = [a for a in app_rows if a["instructor_id"] is not None]
    assignments, visits, deliveries = [], [], []
    for a in instructed:
        since = approved_at[a["id"]]
        if rng.random() < 0.1:  # a reassignment: the first instructor's assignment ended
            first = rng.choice([i for i in instructor_ids if i != a["instructor_id"]])
            assignments.append(dict(application_id=a["id"], instructor_id=first, assigned_at=since,
                                    assigned_by_id=actor_id, reason="", over_capacity=False,
                                    ended_at=since + timedelta(days=5)))
            since += timedelta(days=5)
        assignments.append(dict(application_id=a["id"], instructor_id=a["instructor_id"], assigned_at=since,
                                assigned_by_id=actor_id, reason="", over_capacity=False, ended_at=None))
        if a["state"] is AppState.ESTABLISHED:
            for k in range(rng.randint(0, 3)):
                visits.append(dict(application_id=a["id"], instructor_id=a["instructor_id"],
                                   visited_on=(since + timedelta(days=7 * (k + 1))).date(),
                                   form=rng.choice(list(VisitForm)), topics="组建指导、党员发展", problems="",
                                   follow_up="", recorded_by_id=actor_id, created_at=now))
            for item in rng.sample(list(ChecklistItem), rng.randint(0, 6)):
                deliveries.append(dict(application_id=a["id"], item=item, delivered_on=since.date(),
                                       confirmed_by_id=actor_id, created_at=now))
    # One stored file per document (file_id is unique), the same placeholder bytes in each.
    start_file = (db.session.scalar(sa.select(sa.func.max(StoredFile.id))) or 0) + 1
    sha = hashlib.sha256(PLACEHOLDER_PDF).hexdigest()
    files, documents = [], []
    prefix = get_settings()["doc_prefix"]
    last = {c.year: c.last_number for c in db.session.scalars(sa.select(DocumentCounter))}
    for n, a in enumerate(sorted(instructed, key=lambda a: approved_at[a["id"]])):
        issued = approved_at[a["id"]]
        serial = last[issued.year] = last.get(issued.year, 0) + 1
        number = format_number(prefix, issued.year, serial)
        files.append(dict(id=start_file + n, filename=f"{number}.pdf", content_type="application/pdf",
                          size=len(PLACEHOLDER_PDF), sha256=sha, data=PLACEHOLDER_PDF, created_at=issued,
                          created_by_id=actor_id))
        documents.append(dict(application_id=a["id"], kind=DocumentKind.APPROVAL, year=issued.year, serial=serial,
                              number=number, title="关于同意成立党组织的批复", token=secrets.token_urlsafe(32),
                              file_id=start_file + n, issued_at=issued, issued_by_id=actor_id))
    _insert(Assignment, assignments)
    _insert(GuidanceVisit, visits)
    _insert(Delivery, deliveries)
    _insert(StoredFile, files)
    _insert(Document, documents)
    # The next real approval must take the number after the seeded ones: the counters are the source of truth.
    for year, number in last.items():
        if db.session.get(DocumentCounter, year) is None:
            db.session.add(DocumentCounter(year=year, last_number=number))
        else:
            db.session.get(DocumentCounter, year).last_number = number
    return {"assignments": len(assignments), "documents": len(documents), "visits": len(visits),
            "deliveries": len(deliveries)}


SHEET_BATCH = 200  # the disbursement sheet bench/run.py times: one approved batch of exactly this many items
BANKS = ["中国工商银行通辽分行营业部", "中国农业银行通辽开发区支行", "中国建设银行通辽分行", "内蒙古银行通辽分行"]


def _funds(rng: random.Random, app_rows: list[dict], orgs: dict[int, dict], actor_id: int,
           now: datetime) -> dict[str, int]:
    """Fund items of the established organisations, their batches and payments, in the states the workflow makes."""
    ensure_fund_standards()
    finance = bench_account("scale-finance", "压测财务", Role.FINANCE, "scale-2026")
    established = sorted((a for a in app_rows if a["state"] is AppState.ESTABLISHED),
                         key=lambda a: (a["state_changed_at"], a["id"]))
    today = now.date()
    start_item = (db.session.scalar(sa.select(sa.func.max(FundItem.id))) or 0) + 1
    items = []
    for n, a in enumerate(established):
        org = orgs[a["organisation_id"]]
        standard = DEFAULT_STANDARDS[a["requested_kind"]]
        adjusted = rng.random() < 0.05  # a few amounts confirmed off the standard, with the reason
        amount = min(standard + 500, MAX_FUND) if adjusted else standard
        items.append(dict(id=start_item + n, organisation_id=org["id"], application_id=a["id"],
                          party_org_kind=a["requested_kind"], established_on=min(a["state_changed_at"].date(), today),
                          standard_amount=standard, amount=amount,
                          amount_reason="党员人数较多，活动阵地建设需要" if adjusted and amount != standard else "",
                          state=FundState.APPROVED, version=2, confirmed_by_id=actor_id,
                          confirmed_at=a["state_changed_at"] + timedelta(days=3),
                          account_name=org["name"], bank_name=rng.choice(BANKS),
                          account_number=f"{rng.randint(10**18, 10**19 - 1)}", payee_checked_by_id=finance.id,
                          payee_checked_at=a["state_changed_at"] + timedelta(days=5),
                          payee_check_method=PayeeCheckMethod.RETYPED, batch_id=None,
                          created_at=a["state_changed_at"]))
    # Newest first: 6% still to confirm (half without a payee yet), then 6% confirmed and in no batch yet.
    pending = max(1, len(items) * 6 // 100) if items else 0
    loose = len(items) * 6 // 100
    for item in items[len(items) - pending:]:
        item.update(state=FundState.PENDING, version=1, confirmed_by_id=None, confirmed_at=None,
                    payee_checked_by_id=None, payee_checked_at=None, payee_check_method=None)
        if rng.random() < 0.5:
            item.update(account_name="", bank_name="", account_number="")
    batched = items[:len(items) - pending - loose]
    # Batches oldest first: the sheet's batch of 200 (approved, to pay) comes after the paid ones, then one
    # submitted and one draft batch of a few dozen; the rest, before them, are paid in batches of 20-60.
    tail = [SHEET_BATCH, rng.randint(20, 40), rng.randint(15, 30)]
    while sum(tail) > len(batched) and tail:
        tail.pop(0)  # a small seed (the tests') has fewer items than the sheet's batch
    sizes, left = [], len(batched) - sum(tail)
    while left > 0:
        sizes.append(min(left, rng.randint(20, 60)))
        left -= sizes[-1]
    last_states = [BatchState.APPROVED, BatchState.SUBMITTED, BatchState.DRAFT]
    states = [BatchState.PAID] * len(sizes) + last_states[len(last_states) - len(tail):]
    sizes += tail
    start_batch = (db.session.scalar(sa.select(sa.func.max(DisbursementBatch.id))) or 0) + 1
    serials = dict(db.session.execute(sa.select(DisbursementBatch.year, sa.func.max(DisbursementBatch.serial))
                                      .group_by(DisbursementBatch.year)).all())
    batches, payments, at = [], [], 0
    for n, (size, state) in enumerate(zip(sizes, states)):
        chunk = batched[at:at + size]
        at += size
        created = max(i["confirmed_at"] for i in chunk) + timedelta(days=rng.randint(3, 20))
        created = min(created, now - timedelta(days=len(sizes) - n))
        year = created.year
        serials[year] = serials.get(year, 0) + 1
        decided = state in (BatchState.APPROVED, BatchState.PAID)
        batches.append(dict(id=start_batch + n, year=year, serial=serials[year], state=state,
                            version=4 if decided else 2 if state is BatchState.SUBMITTED else 1,
                            note="" if rng.random() < 0.7 else f"{year}年第{serials[year]}批",
                            created_by_id=finance.id, created_at=created,
                            submitted_at=created + timedelta(days=1) if state is not BatchState.DRAFT else None,
                            approved_by_id=actor_id if decided else None,
                            approved_at=created + timedelta(days=3) if decided else None))
        paid_on = min((created + timedelta(days=rng.randint(5, 15))).date(), today)
        for item in chunk:
            item["batch_id"] = start_batch + n
            if state is BatchState.PAID:
                item.update(state=FundState.PAID, version=3)
                payments.append(dict(fund_item_id=item["id"], batch_id=item["batch_id"], kind=PaymentKind.PAYMENT,
                                     amount=item["amount"], voucher_number=f"记-{year}-{serials[year]:03d}",
                                     paid_on=paid_on, reason="", actor_id=finance.id,
                                     at=datetime.combine(paid_on, datetime.min.time(), timezone.utc)))
    _insert(DisbursementBatch, batches)
    _insert(FundItem, items)
    _insert(FundPayment, payments)
    return {"fund_items": len(items), "batches": len(batches), "payments": len(payments)}
