"""The registry import (摸底导入): check a whole spreadsheet first, then write it all or nothing, in bulk.

Checking happens in the upload request and is stored as a RegistryImport with every bad row and its
reason; nothing touches the registry then. Committing runs as a task on the job queue (jobs/), in one
transaction: either every row is written, or none; its progress and result are in the import's row, which
the page polls.
"""
import io
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import sqlalchemy as sa
from flask import Flask, current_app

from jobs.queue import crontab, periodic, queue, task, task_name
from jobs.runs import interrupt_runs
from models import (
    AppState, Application, CoverageCause, ImportStatus, Organisation, OrgKind, RegistrationKind, RegistrationReview,
    RegistryImport, Role, Unit, User, db,
)

from . import DomainError
from .audit import record_event
from .coverage import record_by_code
from .files import clean_filename, keep_file
from .spreadsheets import XLSX_TYPE, Limits, content_type, read_spreadsheet, refused_characters
from .validators import normalise_credit_code, normalise_phone
from .workbooks import csv_bytes

log = logging.getLogger(__name__)

# (key, header in the spreadsheet, what the page says about it). Headers are matched by name, in any order.
COLUMNS: list[tuple[str, str, str]] = [
    ("credit_code", "统一社会信用代码", "必填，18位，校验位须正确；同一代码再次导入时更新原记录，不会重复"),
    ("name", "组织名称", "必填，不超过100个字"),
    ("kind", "组织类别", "必填：" + "、".join(k.label for k in OrgKind)),
    ("unit", "初审单位", "必填：初审单位的全称，如“新型工业园区党委”"),
    ("address", "地址", "可空，不超过200个字"),
    ("employees", "职工人数", "非负整数，空白按 0 计"),
    ("formal_members", "正式党员人数", "非负整数，空白按 0 计"),
    ("probationary_members", "预备党员人数", "非负整数，空白按 0 计"),
    ("has_party_org", "已建党组织", "“是”或“否”，空白按“否”计：本组织自己建有党组织"),
    ("joint_branch_code", "所在联合党支部牵头组织代码",
     "可空：本组织未单独建党组织、已纳入联合党支部时，填联合党支部所在（牵头）组织的统一社会信用代码；"
     "该组织须在名录中或同一文件中，且已建党组织"),
    ("contact_name", "联系人", "可空，组织注册时再填"),
    ("contact_phone", "联系电话", "可空；填写时须为手机号或带区号的固定电话"),
]
HEADERS = {header: key for key, header, _ in COLUMNS}
REQUIRED_KEYS = ("credit_code", "name", "kind", "unit")
COUNT_KEYS = ("employees", "formal_members", "probationary_members")
YES = {"是", "有", "已建", "y", "yes", "true", "1"}
NO = {"否", "无", "未建", "n", "no", "false", "0", ""}
EXPIRED = "校验结果已超过 24 小时，名录可能已有变化，请重新上传文件校验后再确认导入"
CHUNK = 1000  # rows per bulk statement: big enough to be fast, small enough to move the progress bar

# Columns an upload may have: the template's twelve, and room for a few a unit adds for its own notes.
REGISTRY_COLUMNS_MAX = 30



@dataclass
class RowError:
    line: int
    code: str
    message: str


# ---------------------------------------------------------------- reading the file

def _read_rows(data: bytes) -> Iterator[list[str]]:
    """Every row of the file, the header first, bounded while read (domain/spreadsheets.py): the configured
    number of data rows, plus the header, and the bytes and reading time that many rows take (an XLSX sheet
    written by openpyxl holds about 720 bytes a row inflated, one saved by Excel about 410; reading one takes
    0.06 ms of CPU a row, up to four times that on a busy machine), so that a file of the city's 110,000
    organisations fits in one import."""
    rows = current_app.config["REGISTRY_IMPORT_MAX_ROWS"]
    limits = Limits(rows=rows + 1, columns=REGISTRY_COLUMNS_MAX, file_bytes=max(Limits.file_bytes, rows * 250),
                    member_bytes=max(Limits.member_bytes, rows * 1024),
                    total_bytes=max(Limits.total_bytes, rows * 1024 + Limits.total_bytes - Limits.member_bytes),
                    seconds=max(Limits.seconds, rows * 0.0003))
    return read_spreadsheet(data, limits)


def _header_map(header: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        key = HEADERS.get(title.replace(" ", "").replace("*", ""))
        if key and key not in positions:
            positions[key] = index
    missing = [h for k, h, _ in COLUMNS if k in REQUIRED_KEYS and k not in positions]
    if missing:
        raise DomainError("第1行（表头）缺少以下必填列：" + "、".join(missing) + "。请使用下载的模板，表头不要改动", "file")
    return positions  # an optional column the file lacks reads as empty in every row


# ---------------------------------------------------------------- the registry as it is

@dataclass(frozen=True)
class Registered:
    """What the registry holds of one organisation that an import may not silently undo."""
    id: int
    unit_id: int
    has_party_org: bool
    joint_branch_code: str | None
    established: bool  # its Party organisation was founded through this app

    def facts(self) -> list:
        """What the check saw, kept with each checked row (JSON): [has_party_org, joint_branch_code, established,
        unit_id]."""
        return [self.has_party_org, self.joint_branch_code, self.established, self.unit_id]


def registry_now(*, lock: bool = False) -> dict[str, Registered]:
    """Every organisation of the registry by credit code, in two queries. lock: the rows stay locked until the
    transaction ends (PostgreSQL; SQLite's one writer is the lock there), so that what the import checked them
    against is what it writes over."""
    established = set(db.session.scalars(
        sa.select(Application.organisation_id).where(Application.state == AppState.ESTABLISHED)))
    query = sa.select(Organisation.credit_code, Organisation.id, Organisation.unit_id, Organisation.has_party_org,
                      Organisation.joint_branch_code)
    return {code: Registered(id_, unit_id, has_org, joint, id_ in established)
            for code, id_, unit_id, has_org, joint in db.session.execute(query.with_for_update() if lock else query)}


# ---------------------------------------------------------------- checking

class _Checker:
    """Checks rows one by one against lookups loaded once (units, kinds, the registry's codes)."""

    def __init__(self, scope: Unit | None):
        self.scope = scope
        self.units: dict[str, Unit] = {}
        for unit in db.session.scalars(sa.select(Unit)):
            self.units[unit.name] = self.units[unit.code] = unit
        self.kinds = {k.label: k for k in OrgKind} | {k.value: k for k in OrgKind}
        self.registry = registry_now()
        # code -> (unit_id, has_party_org)
        self.existing = {code: (org.unit_id, org.has_party_org) for code, org in self.registry.items()}
        self.established = {code for code, org in self.registry.items() if org.established}
        self.unit_names = {u.id: u.name for u in self.units.values()}
        self.seen: dict[str, int] = {}

    def check(self, line: int, raw: dict[str, str]) -> tuple[dict[str, Any] | None, list[str]]:
        problems: list[str] = []
        row: dict[str, Any] = {}
        code = raw["credit_code"]
        try:
            code = normalise_credit_code(code)
        except DomainError as error:
            problems.append(error.message if code else "统一社会信用代码为空")
        else:
            if code in self.seen:
                problems.append(f"统一社会信用代码与第{self.seen[code]}行重复")
            else:
                self.seen[code] = line
        row["credit_code"] = code

        name = raw["name"]
        if not name:
            problems.append("组织名称为空")
        elif len(name) > 100:
            problems.append("组织名称超过100个字")
        row["name"] = name

        kind = self.kinds.get(raw["kind"])
        if kind is None:
            problems.append(f"组织类别“{raw['kind']}”无法识别，应为" + "、".join(k.label for k in OrgKind))
        row["kind"] = kind.value if kind else None

        unit = self.units.get(raw["unit"])
        if unit is None:
            problems.append(f"初审单位“{raw['unit']}”不存在，请填写单位全称或代码")
        elif self.scope is not None and unit.id != self.scope.id:
            problems.append(f"该行属于“{unit.name}”，本单位只能导入本单位（{self.scope.name}）的组织")
        row["unit_id"] = unit.id if unit else None
        before = self.existing.get(code)
        if self.scope is not None and before is not None and before[0] != self.scope.id:
            problems.append(f"该组织已登记在“{self.unit_names.get(before[0], '其他单位')}”名下，本单位不能修改")

        if len(raw["address"]) > 200:
            problems.append("地址超过200个字")
        row["address"] = raw["address"]

        ceiling = current_app.config["REGISTRY_COUNT_MAX"]
        for key in COUNT_KEYS:
            value = raw[key] or "0"
            title = next(h for k, h, _ in COLUMNS if k == key)
            row[key] = 0
            if not value.isdecimal():  # full-width digits count; "²" (a digit to isdigit) does not
                problems.append(f"{title}“{raw[key]}”应为非负整数")
            elif int(value) > ceiling:
                problems.append(f"{title} {int(value)} 超过 {ceiling}，请核对是否多填了位数")
            else:
                row[key] = int(value)
        members = row["formal_members"] + row["probationary_members"]
        if row["employees"] and members > row["employees"]:
            problems.append(f"党员人数（正式 {row['formal_members']} 名、预备 {row['probationary_members']} 名）"
                            f"多于职工人数 {row['employees']}，请核对")

        flag = raw["has_party_org"].lower()
        if flag not in YES | NO:
            problems.append(f"已建党组织“{raw['has_party_org']}”应填“是”或“否”")
        row["has_party_org"] = flag in YES
        if not row["has_party_org"] and code in self.established:
            problems.append("该组织已在本系统批准成立党组织，不能改为“否”")

        row["joint_branch_code"] = None
        if raw["joint_branch_code"]:
            try:
                row["joint_branch_code"] = normalise_credit_code(raw["joint_branch_code"])
            except DomainError as error:
                problems.append("联合党支部牵头组织代码：" + error.message)
            else:
                if row["has_party_org"]:
                    problems.append("已建党组织的组织不再纳入联合党支部，请清空联合党支部一栏或把“已建党组织”改为“否”")
                elif row["joint_branch_code"] == code:
                    problems.append("联合党支部牵头组织不能是本组织自己")

        row["contact_name"] = raw["contact_name"]
        if len(raw["contact_name"]) > 40:
            problems.append("联系人姓名超过40个字")
        row["contact_phone"] = ""
        if raw["contact_phone"]:
            try:
                row["contact_phone"] = normalise_phone(raw["contact_phone"])
            except DomainError as error:
                problems.append(error.message)
        return (None if problems else row), problems

    def check_joint_branches(self, rows: list[tuple[int, dict[str, Any]]]) -> list[RowError]:
        """A joint branch lives in an organisation that has a Party organisation: in the file or the registry."""
        hosts = {code for code, (_, has_org) in self.existing.items() if has_org}
        in_file = {row["credit_code"]: row["has_party_org"] for _, row in rows}
        hosts = (hosts - {c for c, has in in_file.items() if not has}) | {c for c, has in in_file.items() if has}
        return [RowError(line, row["credit_code"],
                         f"联合党支部牵头组织 {row['joint_branch_code']} 不在名录中或尚未建立党组织")
                for line, row in rows if row["joint_branch_code"] and row["joint_branch_code"] not in hosts]


def _import_scope(actor: User) -> Unit | None:
    if actor.role is Role.ADMIN:
        return None
    if actor.role is Role.UNIT_REVIEWER:
        return actor.unit
    raise DomainError("只有系统管理员和初审单位可以导入摸底名录")


def check_registry_file(filename: str, data: bytes, *, actor: User) -> RegistryImport:
    """Check an uploaded registry spreadsheet (摸底表校验) row by row; store the file, its rows and its errors."""
    scope = _import_scope(actor)
    if not data:
        raise DomainError("上传的文件是空的，请重新选择", "file")
    rows_in = _read_rows(data)
    header = next(rows_in, None)
    if header is None:
        raise DomainError("文件中没有内容，请使用下载的模板填写", "file")
    positions = _header_map(header)
    limit = current_app.config["REGISTRY_IMPORT_MAX_ROWS"]
    checker = _Checker(scope)
    good: list[tuple[int, dict[str, Any]]] = []
    errors: list[RowError] = []
    total = 0
    for line, cells in enumerate(rows_in, start=2):
        if not any(cells):
            continue  # blank lines in a spreadsheet are not rows
        total += 1
        if total > limit:
            raise DomainError(f"一次最多导入 {limit} 行，请把文件拆分后分批导入", "file")
        raw = {key: cells[positions[key]] if positions.get(key, len(cells)) < len(cells) else ""
               for key, _, _ in COLUMNS}
        row, problems = checker.check(line, raw)
        if refused := refused_characters(cells):
            row, problems = None, [refused, *problems]
        if row is None:
            errors.append(RowError(line, raw["credit_code"], "；".join(problems)))
        else:
            # What the registry said of this organisation when the file was checked: the commit writes nothing
            # if that has changed under a row that would undo it (_conflicts).
            known = checker.registry.get(row["credit_code"])
            good.append((line, {**row, "line": line, "seen": known.facts() if known else None}))
    if total == 0:
        raise DomainError("文件只有表头，没有数据行", "file")
    errors += checker.check_joint_branches(good)
    errors.sort(key=lambda e: e.line)
    bad_lines = {e.line for e in errors}
    kind = content_type(data)
    stored = keep_file(clean_filename(filename or "摸底表", ".xlsx" if kind == XLSX_TYPE else ".csv"), kind, data,
                       actor=actor)
    job = RegistryImport(
        created_by=actor, unit=scope, file=stored, total_rows=total, error_count=len(bad_lines),
        status=ImportStatus.INVALID if errors else ImportStatus.READY,
        errors=[{"line": e.line, "code": e.code, "message": e.message} for e in errors],
        rows=[] if errors else [row for _, row in good])
    db.session.add_all([stored, job])
    db.session.flush()
    record_event("check_registry", job, actor, f"校验摸底表 {stored.filename}：{total} 行，{len(bad_lines)} 行有错误")
    return job


# ---------------------------------------------------------------- committing

def start_registry_import(job: RegistryImport, *, actor: User) -> None:
    """Confirm an import (确认导入): only a checked file without errors, and only once. The caller commits, then
    enqueues its writing (enqueue_registry_import)."""
    if not job.can_view(actor):
        raise DomainError("您不能确认他人的导入")
    if job.expired:
        raise DomainError(EXPIRED)
    if job.status is not ImportStatus.READY:
        raise DomainError("该文件有错误未改正，或已在导入、已导入完成，不能再次确认")
    # A compare-and-set, so two clicks (or two tabs) start one import, not two.
    flipped = db.session.execute(
        sa.update(RegistryImport).where(RegistryImport.id == job.id, RegistryImport.status == ImportStatus.READY)
        .values(status=ImportStatus.RUNNING, started_at=datetime.now(timezone.utc))
        .execution_options(synchronize_session=False)).rowcount
    if flipped != 1:
        raise DomainError("该导入已经开始，请勿重复确认")
    db.session.refresh(job)


def enqueue_registry_import(job: RegistryImport) -> None:
    """Put a confirmed, committed import on the job queue: a consumer writes it (write_registry_import)."""
    write_registry_import(job.id)


@task("摸底导入：写入名录")
def write_registry_import(job_id: int) -> None:
    run_registry_import(job_id)


# An import is taken up at most this often: once, and once more after its consumer died in the middle.
MAX_ATTEMPTS = 2


def run_registry_import(job_id: int) -> None:
    """Write a confirmed import (写入摸底名录) in bulk, in one transaction: every row or none. Idempotent: an import
    that is done, or that another consumer is writing (its heartbeat is fresh), is left alone; one whose consumer
    died is written from nothing, its first transaction having died with that consumer."""
    attempt = _claim(job_id)
    if attempt is None:
        return
    with _Heartbeat(current_app._get_current_object(), job_id, attempt) as beat:
        try:
            job = db.session.get(RegistryImport, job_id)
            registry = registry_now(lock=True)
            unit_names = dict(db.session.execute(sa.select(Unit.id, Unit.name)).all())
            conflicts = _conflicts(job, registry, unit_names)
            if conflicts:
                raise ImportConflicts(conflicts)
            created, updated, differences = _write_rows(job, registry, unit_names, beat)
            if not _still_mine(job_id, attempt):
                db.session.rollback()  # taken up by another consumer meanwhile: its transaction writes it
                return
            job.status = ImportStatus.DONE
            job.created_count, job.updated_count, job.differences = created, updated, differences
            job.processed_rows = job.total_rows
            job.finished_at = job.heartbeat_at = datetime.now(timezone.utc)
            job.rows = []  # the file is kept; the checked copy of its rows is not needed any more
            record_event("import_registry", job, job.created_by, f"导入摸底名录：新增 {created} 个，更新 {updated} 个")
            db.session.commit()
        except ImportConflicts as found:
            db.session.rollback()
            if job := _still_mine(job_id, attempt):
                job.status, job.rows, job.finished_at = ImportStatus.INVALID, [], datetime.now(timezone.utc)
                job.errors = [{"line": e.line, "code": e.code, "message": e.message} for e in found.errors]
                job.error_count = len({e.line for e in found.errors})
                job.message = (f"确认导入时复核：校验之后名录已有变化，有 {job.error_count} 行与名录现状冲突，名录未作任何修改。"
                               "请按名录现状改正这些行后重新上传校验。")
                record_event("import_registry_conflicts", job, job.created_by, job.message[:200])
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            log.exception("registry import %s failed", job_id)
            if job := _still_mine(job_id, attempt):
                job.status = ImportStatus.FAILED
                job.message = ("导入失败，名录未作任何修改：" + (error.args[0] if isinstance(error, DomainError)
                                                               else "数据库写入出错，请稍后重新上传校验"))[:500]
                job.finished_at = datetime.now(timezone.utc)
            db.session.commit()


def _claim(job_id: int) -> int | None:
    """Take a running import up, in a transaction of its own: its attempt's number, or None when it is not running,
    another consumer's heartbeat on it is fresh, or it was taken up MAX_ATTEMPTS times already."""
    now = datetime.now(timezone.utc)
    stale = now - timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])
    attempt = db.session.execute(
        sa.update(RegistryImport)
        .where(RegistryImport.id == job_id, RegistryImport.status == ImportStatus.RUNNING,
               RegistryImport.attempts < MAX_ATTEMPTS,
               sa.or_(RegistryImport.heartbeat_at.is_(None), RegistryImport.heartbeat_at < stale))
        .values(attempts=RegistryImport.attempts + 1, heartbeat_at=now, processed_rows=0)
        .returning(RegistryImport.attempts).execution_options(synchronize_session=False)).scalar()
    db.session.commit()
    return attempt


def _still_mine(job_id: int, attempt: int) -> RegistryImport | None:
    """The import, locked, if no other consumer has taken it up since this one did (attempt)."""
    job = db.session.scalar(sa.select(RegistryImport).where(RegistryImport.id == job_id)
                            .with_for_update(of=RegistryImport).execution_options(populate_existing=True))
    return job if job is not None and job.attempts == attempt and job.status is ImportStatus.RUNNING else None


class _Heartbeat:
    """Writes the import's heartbeat and the rows written so far (its progress bar, on every worker and host) every
    JOBS_HEARTBEAT_SECONDS, from a connection of its own: the import's rows wait in their one transaction.

    On SQLite, whose one writer at a time is the import, not in the database: a second connection's write would wait
    for the import's transaction to end, or, holding the file's reserved lock, make the import's own first write fail
    (SQLite gives up at once on such a deadlock). There the claim's heartbeat is the only one (writing the zone's whole
    registry takes seconds, far less than JOBS_STALE_SECONDS), and the rows written so far go to the job queue's own
    storage (another file, or the server JOBS_URL names), where import_progress reads them."""

    def __init__(self, app: Flask, job_id: int, attempt: int):
        self.app, self.job_id, self.attempt = app, job_id, attempt
        self.done = 0  # rows written so far, set by _write_rows
        self.stopped = threading.Event()
        self.beside = db.engine.dialect.name == "sqlite"  # the progress beside the database, in the queue's storage
        self.thread = None

    def __enter__(self) -> "_Heartbeat":
        self.thread = threading.Thread(target=self.run, name=f"import-heartbeat-{self.job_id}", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join()
        if self.beside:
            queue.get(_progress_key(self.job_id))  # read and gone: the import's row says the rest

    def run(self) -> None:
        with self.app.app_context():
            while not self.stopped.wait(self.app.config["JOBS_HEARTBEAT_SECONDS"]):
                try:
                    if self.beside:
                        queue.put(_progress_key(self.job_id), (self.attempt, self.done))
                        continue
                    with db.engine.begin() as connection:
                        connection.execute(
                            sa.update(RegistryImport)
                            .where(RegistryImport.id == self.job_id, RegistryImport.attempts == self.attempt,
                                   RegistryImport.status == ImportStatus.RUNNING)
                            .values(heartbeat_at=datetime.now(timezone.utc), processed_rows=self.done))
                except Exception:
                    log.warning("registry import %s: heartbeat not written", self.job_id, exc_info=True)


class ImportConflicts(Exception):
    """Rows that the registry, as it is when the import commits, contradicts."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} conflicts")
        self.errors = errors


def _conflicts(job: RegistryImport, registry: dict[str, Registered], unit_names: dict[int, str]) -> list[RowError]:
    """Every row checked again against the registry as it is now, in the writing transaction. Whatever changed since
    the file was checked, in either direction (organised or not, in a joint branch or out of it, moved to another
    unit, established through the app), is kept: a row that would undo it is listed. A joint branch's host must
    still have its Party organisation; a unit's import still touches only its own organisations."""
    in_file = {row["credit_code"]: row["has_party_org"] for row in job.rows}
    hosts = {code for code, org in registry.items() if org.has_party_org}
    hosts = (hosts - {c for c, has in in_file.items() if not has}) | {c for c, has in in_file.items() if has}
    errors = []
    for row in job.rows:
        code, line, now = row["credit_code"], row["line"], registry.get(row["credit_code"])
        problems = _undone(row, now, unit_names) if now is not None else []
        if now is not None and job.unit_id is not None and now.unit_id != job.unit_id:
            problems.append("校验之后该组织已被登记到其他单位，本单位不能修改")
        if row["joint_branch_code"] and row["joint_branch_code"] not in hosts:
            problems.append(f"联合党支部牵头组织 {row['joint_branch_code']} 已不在名录中或已无党组织")
        errors += [RowError(line, code, problem) for problem in problems]
    return errors


def _undone(row: dict[str, Any], now: Registered, unit_names: dict[int, str]) -> list[str]:
    """What the row would undo of the changes made to its organisation since the check."""
    seen = row["seen"] or [False, None, False, None]  # None: the organisation was not in the registry at the check
    has_org, joint, established, unit_id = [*seen, None][:4]  # a row checked before units were kept has three
    problems = []
    if now.established and not established and not row["has_party_org"]:
        problems.append("校验之后该组织已在本系统批准成立党组织，本文件填“否”")
    elif now.has_party_org != has_org and row["has_party_org"] != now.has_party_org:
        problems.append("校验之后该组织已建立党组织，本文件填“否”" if now.has_party_org
                        else "校验之后该组织已改为未建立党组织，本文件填“是”")
    if now.joint_branch_code != joint and row["joint_branch_code"] != now.joint_branch_code:
        problems.append(f"校验之后该组织已纳入联合党支部（牵头组织 {now.joint_branch_code}），本文件与此不符"
                        if now.joint_branch_code else f"校验之后该组织已退出联合党支部，本文件仍填写牵头组织 {joint}")
    if now.unit_id != unit_id and row["unit_id"] != now.unit_id:
        problems.append(f"校验之后该组织已改属“{unit_names.get(now.unit_id, '其他单位')}”，本文件与此不符")
    return problems


# What an import compares with an organisation that registered itself, by the names the page gives them.
MERGED_FIELDS = {"name": "组织名称", "kind": "组织类别", "unit_id": "初审单位", "address": "地址", "employees": "职工人数",
                 "formal_members": "正式党员人数", "probationary_members": "预备党员人数", "has_party_org": "已建党组织",
                 "joint_branch_code": "所在联合党支部牵头组织代码"}


def _self_registered() -> dict[int, dict[str, Any]]:
    """The organisations that registered themselves (not imported), by id, with the values they registered."""
    columns = [getattr(Organisation, name) for name in MERGED_FIELDS]
    query = sa.select(Organisation.id, *columns).where(Organisation.id.in_(
        sa.select(RegistrationReview.organisation_id).where(RegistrationReview.kind == RegistrationKind.NEW)))
    return {row[0]: dict(zip(MERGED_FIELDS, row[1:])) for row in db.session.execute(query)}


def _shown(key: str, value: Any, unit_names: dict[int, str]) -> str:
    if key == "kind":
        return OrgKind(value).label if value else "（空）"
    if key == "unit_id":
        return unit_names.get(value, "（空）")
    if isinstance(value, bool):
        return "是" if value else "否"
    return "（空）" if value in (None, "") else str(value)


def _differences(line: int, written: dict[str, Any], registered: dict[str, Any], unit_names: dict[int, str]) -> list:
    """Each field where what is written and what the organisation registered differ, both as the page shows them."""
    shown = {key: (_shown(key, registered[key], unit_names), _shown(key, written.get(key, registered[key]), unit_names))
             for key in MERGED_FIELDS}
    return [{"line": line, "code": written["credit_code"], "field": MERGED_FIELDS[key], "registered": before,
             "imported": after} for key, (before, after) in shown.items() if before != after]


def _write_rows(job: RegistryImport, registry: dict[str, Registered], unit_names: dict[int, str],
                beat: "_Heartbeat") -> tuple[int, int, list]:
    """Write the rows in bulk. An organisation that registered itself is merged into: its verification and its
    contact stay, the file's values are written, and every field where they differed is returned, to be listed on the
    import (job.differences) for the unit to settle with the organisation. The job's row is not touched here: a
    heartbeat updates it meanwhile from another connection."""
    # By the registry as it is now: an organisation may have registered since the file was checked.
    existing = {code: org.id for code, org in registry.items()}
    registered = _self_registered()
    inserts, updates, differences = [], [], []
    coverage: dict[str, bool] = {}  # the organisations whose coverage the file changes: covered now or no longer
    for checked in job.rows:
        row = {key: value for key, value in checked.items() if key not in ("line", "seen")}
        values = {**row, "kind": OrgKind(row["kind"])}
        before = existing.get(row["credit_code"])
        now = registry.get(row["credit_code"])
        covered = row["has_party_org"] or row["joint_branch_code"] is not None
        if covered != (now is not None and (now.has_party_org or now.joint_branch_code is not None)):
            coverage[row["credit_code"]] = covered
        if before is None:
            inserts.append(values)
            continue
        values["id"] = before
        for key in ("contact_name", "contact_phone"):
            if not values[key] or before in registered:
                del values[key]  # a blank cell never erases a contact, nor does a file replace one who registered
        if before in registered:
            if not values["address"]:
                del values["address"]  # nor a blank cell an address the organisation gave
            differences += _differences(checked["line"], values, registered[before], unit_names)
        updates.append(values)
    for batch in _chunks(inserts):
        db.session.execute(sa.insert(Organisation), batch)
        beat.done += len(batch)
    for batch in _chunks(updates):
        db.session.execute(sa.update(Organisation), batch)
        beat.done += len(batch)
    record_by_code(coverage, CoverageCause.REGISTRY)
    return len(inserts), len(updates), differences


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


INTERRUPTED = "导入中断（后台任务进程两次在写入时退出），名录未作任何修改。请重新上传校验后再确认导入。"


@periodic(crontab(minute="*"), "摸底导入：接续中断的导入", at_start=True)
def requeue_stale_imports() -> None:
    for job_id in take_up_stale_imports():
        write_registry_import(job_id)


def take_up_stale_imports() -> list[int]:
    """Imports whose consumer died (接续中断的导入): running, with a heartbeat (or, never taken up, a confirmation)
    older than JOBS_STALE_SECONDS and no task waiting for them. One taken up fewer than MAX_ATTEMPTS times is
    returned, to be enqueued once this is committed; one taken up that often is marked failed (its transactions died
    with their consumers: the registry is unchanged). Commits."""
    stale = datetime.now(timezone.utc) - timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])
    name = task_name(write_registry_import)
    waiting = {t.args[0] for t in queue.pending() if queue._registry.task_to_string(type(t)) == name and t.args}
    again = []
    for job in db.session.scalars(sa.select(RegistryImport).where(
            RegistryImport.status == ImportStatus.RUNNING,
            sa.func.coalesce(RegistryImport.heartbeat_at, RegistryImport.started_at) < stale)):
        if job.id in waiting:
            continue
        interrupt_runs(name, [job.id], "执行中断：消费进程退出，心跳已停止")
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.message, job.finished_at = ImportStatus.FAILED, INTERRUPTED, datetime.now(timezone.utc)
            record_event("import_registry.interrupted", job, None, "摸底导入两次中断，已标记为失败")
        else:
            again.append(job.id)
    db.session.commit()
    return again


def _progress_key(job_id: int) -> str:
    return f"registry-import-progress:{job_id}"


def import_progress(job: RegistryImport) -> int:
    """Rows written so far, as the import's heartbeat last wrote them (every worker reads the same): in the import's
    row, or on SQLite in the job queue's storage (_Heartbeat)."""
    if job.status is ImportStatus.DONE:
        return job.total_rows
    if job.status is ImportStatus.RUNNING and db.engine.dialect.name == "sqlite":
        noted = queue.get(_progress_key(job.id), peek=True)
        if noted is not None and noted[0] == job.attempts:  # a consumer that died before this attempt says nothing
            return max(job.processed_rows, noted[1])
    return job.processed_rows


def recent_imports(user: User, limit: int = 10) -> list[RegistryImport]:
    """The latest imports this user may see: an admin all, a reviewer their own."""
    query = sa.select(RegistryImport).order_by(RegistryImport.id.desc()).limit(limit)
    if user.role is not Role.ADMIN:
        query = query.where(RegistryImport.created_by_id == user.id)
    return list(db.session.scalars(query))


# ---------------------------------------------------------------- the template

def template_xlsx() -> bytes:
    """The empty registry template (摸底表模板) with one example row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "摸底名录"
    sheet.append([header for _, header, _ in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.append(["91150500MA0N00001P", "示例科技有限公司", "非公企业", "新型工业园区党委", "开发区示例路1号",
                  "120", "3", "1", "否", "", "", ""])
    for index, (_, header, _) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(12, len(header) * 2 + 2)
    notes = book.create_sheet("填写说明")
    notes.append(["列", "说明"])
    for _, header, note in COLUMNS:
        notes.append([header, note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template_csv() -> bytes:
    """The same template as UTF-8 CSV (with a BOM, so Excel opens the Chinese correctly)."""
    return csv_bytes([[header for _, header, _ in COLUMNS]])
