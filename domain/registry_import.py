"""The registry import (摸底导入): check a whole spreadsheet first, then write it all or nothing, in bulk.

The upload request reads only the file's header and first row (a file that is no registry is refused at once), keeps
the file and queues its check. Checking and committing run as tasks on the job queue (jobs/): the check stores every
bad row and its reason, or the checked rows, in the import's row, and touches nothing of the registry; the commit
writes in one transaction, every row or none. Their progress and results are in the import's row, which the page
polls.
"""
import base64
import io
import json
import logging
import threading
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
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
from .job_quota import refuse_over_quota
from .organisation_copy import insert_organisations, update_organisations
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
YES_OR_NO = YES | NO
EXPIRED = "校验结果已超过 24 小时，名录可能已有变化，请重新上传文件校验后再确认导入"
CHUNK = 5000  # rows per bulk statement: big enough to be fast, small enough to move the progress bar
# A checked row as the import keeps it (RegistryImport.rows): a list of these, in this order, not a dict of them,
# so that 110,000 of them fit a consumer's memory and their JSON is a third of the size.
ROW_KEYS = ("line", "credit_code", "name", "kind", "unit_id", "address", "employees", "formal_members",
            "probationary_members", "has_party_org", "joint_branch_code", "contact_name", "contact_phone", "seen")
LINE, CODE, HAS_ORG, JOINT, SEEN = (ROW_KEYS.index(key)
                                    for key in ("line", "credit_code", "has_party_org", "joint_branch_code", "seen"))

# Columns an upload may have: the template's twelve, and room for a few a unit adds for its own notes.
REGISTRY_COLUMNS_MAX = 30



@dataclass
class RowError:
    line: int
    code: str
    message: str


# ---------------------------------------------------------------- reading the file

def _read_rows(data: bytes, progress: Callable[[float], None] | None = None) -> Iterator[list[str]]:
    """Every row of the file, the header first, bounded while read (domain/spreadsheets.py): the configured
    number of data rows, plus the header, and the bytes and reading time that many rows take (an XLSX sheet
    written by openpyxl holds about 720 bytes a row inflated, one saved by Excel about 410; reading one takes
    0.04 ms of CPU a row, up to ten times that in a consumer sharing a busy machine), so that a file of the city's
    110,000 organisations fits in one import, and a hostile one still stops."""
    rows = current_app.config["REGISTRY_IMPORT_MAX_ROWS"]
    limits = Limits(rows=rows + 1, columns=REGISTRY_COLUMNS_MAX, file_bytes=max(Limits.file_bytes, rows * 250),
                    member_bytes=max(Limits.member_bytes, rows * 1024),
                    total_bytes=max(Limits.total_bytes, rows * 1024 + Limits.total_bytes - Limits.member_bytes),
                    seconds=max(Limits.seconds, rows * 0.0005))
    return read_spreadsheet(data, limits, progress)


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

@dataclass(frozen=True, slots=True)  # slots: a city's file names 110,000 of these, in a consumer's memory
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


LOOKUP = 5000  # credit codes a query looks up: one statement per this many, whatever the database's own limit


def registry_of(codes: Iterable[str], *, lock: bool = False) -> dict[str, Registered]:
    """The organisations of the registry with these credit codes, by code: a query per LOOKUP codes, never one per row,
    nor the whole registry (a city's is 110,000 organisations and more). lock: the rows stay locked until the
    transaction ends (PostgreSQL; SQLite's one writer is the lock there), so that what the import checked them
    against is what it writes over."""
    established = sa.exists().where(Application.organisation_id == Organisation.id,
                                    Application.state == AppState.ESTABLISHED)
    query = sa.select(Organisation.credit_code, Organisation.id, Organisation.unit_id, Organisation.has_party_org,
                      Organisation.joint_branch_code, established)
    if lock:
        query = query.with_for_update(of=Organisation)
    wanted, found = sorted(set(codes)), {}  # sorted: two imports lock their rows in the same order
    for start in range(0, len(wanted), LOOKUP):
        for code, *facts in db.session.execute(query.where(_one_of(wanted[start:start + LOOKUP]))):
            found[code] = Registered(*facts)
    return found


def _one_of(codes: list[str]) -> sa.ColumnElement[bool]:
    # PostgreSQL takes the codes as one array: a statement with 5,000 placeholders costs more to build than to run.
    if db.engine.dialect.name == "postgresql":
        return Organisation.credit_code == sa.any_(sa.bindparam("codes", codes, type_=ARRAY(sa.String)))
    return Organisation.credit_code.in_(codes)


# ---------------------------------------------------------------- checking

class _Checker:
    """Checks rows one by one against lookups loaded once (units, kinds, the registry's codes)."""

    def __init__(self, scope: Unit | None):
        self.scope = scope
        self.units: dict[str, Unit] = {}
        for unit in db.session.scalars(sa.select(Unit)):
            self.units[unit.name] = self.units[unit.code] = unit
        self.kinds = {k.label: k for k in OrgKind} | {k.value: k for k in OrgKind}
        self.unit_names = {u.id: u.name for u in self.units.values()}
        self.seen: dict[str, int] = {}
        self.ceiling = current_app.config["REGISTRY_COUNT_MAX"]
        self.titles = {key: header for key, header, _ in COLUMNS}

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

        if len(raw["address"]) > 200:
            problems.append("地址超过200个字")
        row["address"] = raw["address"]

        for key in COUNT_KEYS:
            value = raw[key] or "0"
            row[key] = 0
            if not value.isdecimal():  # full-width digits count; "²" (a digit to isdigit) does not
                problems.append(f"{self.titles[key]}“{raw[key]}”应为非负整数")
            elif int(value) > self.ceiling:
                problems.append(f"{self.titles[key]} {int(value)} 超过 {self.ceiling}，请核对是否多填了位数")
            else:
                row[key] = int(value)
        members = row["formal_members"] + row["probationary_members"]
        if row["employees"] and members > row["employees"]:
            problems.append(f"党员人数（正式 {row['formal_members']} 名、预备 {row['probationary_members']} 名）"
                            f"多于职工人数 {row['employees']}，请核对")

        flag = raw["has_party_org"].lower()
        if flag not in YES_OR_NO:
            problems.append(f"已建党组织“{raw['has_party_org']}”应填“是”或“否”")
        row["has_party_org"] = flag in YES

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

    def against_registry(self, code: str, has_party_org: bool, before: "Registered | None") -> list[str]:
        """What a row may not undo of what the registry holds of its organisation (before; None if it holds none)."""
        problems = []
        if self.scope is not None and before is not None and before.unit_id != self.scope.id:
            problems.append(f"该组织已登记在“{self.unit_names.get(before.unit_id, '其他单位')}”名下，本单位不能修改")
        if not has_party_org and before is not None and before.established:
            problems.append("该组织已在本系统批准成立党组织，不能改为“否”")
        return problems


def _hosts(rows: Iterable[tuple[str, bool]], registry: dict[str, "Registered"]) -> set[str]:
    """The credit codes a joint branch may live in: organisations with a Party organisation, as the file's rows
    (credit code, has_party_org) say of those it names, as the registry says of the others."""
    in_file = dict(rows)
    return ({code for code, org in registry.items() if org.has_party_org and code not in in_file}
            | {code for code, has in in_file.items() if has})


def _import_scope(actor: User) -> Unit | None:
    if actor.role is Role.ADMIN:
        return None
    if actor.role is Role.UNIT_REVIEWER:
        return actor.unit
    raise DomainError("只有系统管理员和初审单位可以导入摸底名录")


def upload_registry_file(filename: str, data: bytes, *, actor: User) -> RegistryImport:
    """Keep an uploaded registry spreadsheet (上传摸底表) to be checked by a consumer of the job queue. Only its header
    and first row are read here, by the same bounded reader: a file that is no registry is refused at once, and
    nothing is kept. The caller commits, then queues the check (enqueue_registry_check)."""
    scope = _import_scope(actor)
    refuse_over_quota(RegistryImport, actor, RegistryImport.status == ImportStatus.CHECKING, asked="上传",
                      working="排队或校验", field="file")
    if not data:
        raise DomainError("上传的文件是空的，请重新选择", "file")
    rows = _read_rows(data)
    header = next(rows, None)
    if header is None:
        raise DomainError("文件中没有内容，请使用下载的模板填写", "file")
    _header_map(header)
    if not any(any(cells) for cells in rows):
        raise DomainError("文件只有表头，没有数据行", "file")
    kind = content_type(data)
    stored = keep_file(clean_filename(filename or "摸底表", ".xlsx" if kind == XLSX_TYPE else ".csv"), kind, data,
                       actor=actor)
    job = RegistryImport(created_by=actor, unit=scope, file=stored, status=ImportStatus.CHECKING)
    db.session.add_all([stored, job])
    db.session.flush()
    record_event("upload_registry", job, actor, f"上传摸底表 {stored.filename}，等待校验")
    return job


class _Kept:
    """The good rows of a file as the check finds them, looked up in the registry CHUNK at a time and then kept packed
    (RegistryImport.rows, _packed), so that no more than CHUNK rows are ever objects in memory at once."""

    def __init__(self, checker: _Checker):
        self.checker, self.errors, self.chunks = checker, [], []
        self.pending: list[list] = []
        self.in_file: dict[str, bool] = {}  # each good row's has_party_org, by its credit code
        self.joined: list[tuple[int, str, str]] = []  # (line, credit code, host's code) of the rows in a joint branch

    def add(self, row: list) -> None:
        self.pending.append(row)
        self.in_file[row[CODE]] = row[HAS_ORG]
        if row[JOINT]:
            self.joined.append((row[LINE], row[CODE], row[JOINT]))
        if len(self.pending) == CHUNK:
            self.flush()

    def flush(self) -> None:
        registry = registry_of(row[CODE] for row in self.pending)
        for row in self.pending:
            known = registry.get(row[CODE])
            if problems := self.checker.against_registry(row[CODE], row[HAS_ORG], known):
                self.errors.append(RowError(row[LINE], row[CODE], "；".join(problems)))
            # What the registry said of this organisation when the file was checked: the commit writes nothing if
            # that has changed under a row that would undo it (_conflicts).
            row[SEEN] = known.facts() if known else None
        if not self.errors:  # else nothing of the file is kept
            self.chunks.append(_packed(self.pending))
        self.pending = []

    def joint_errors(self) -> list[RowError]:
        """A joint branch lives in an organisation that has a Party organisation: in the file or the registry."""
        elsewhere = registry_of(host for _, _, host in self.joined if host not in self.in_file)
        hosts = {code for code, org in elsewhere.items() if org.has_party_org}
        return [RowError(line, code, f"联合党支部牵头组织 {host} 不在名录中或尚未建立党组织")
                for line, code, host in self.joined if not (self.in_file.get(host) or host in hosts)]


def _check_rows(data: bytes, scope: Unit | None, beat: "_Heartbeat") -> tuple[int, list[RowError], list[str]]:
    """Check every row of a file (摸底表校验): how many rows it has, every bad row with its reasons, and the good rows
    as the import keeps them (_Kept). Each row is checked as it is read, and against what the registry holds of the
    organisations CHUNK rows name at a time. A file that passes a limit is refused whole (DomainError)."""
    rows_in = _read_rows(data, beat.read)
    positions = _header_map(next(rows_in))
    limit = current_app.config["REGISTRY_IMPORT_MAX_ROWS"]
    checker = _Checker(scope)
    kept = _Kept(checker)
    bad: list[tuple[RowError, str | None, bool]] = []  # with the row's credit code as checked, and has_party_org
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
            bad.append((RowError(line, raw["credit_code"], "；".join(problems)),
                        _code_or_none(raw["credit_code"]), raw["has_party_org"].lower() in YES))
        else:
            row.update(line=line, seen=None)
            kept.add([row[key] for key in ROW_KEYS])
        beat.done = total
    if total == 0:
        raise DomainError("文件只有表头，没有数据行", "file")
    kept.flush()
    registry = registry_of(code for _, code, _ in bad if code)
    for error, code, has_party_org in bad:
        if problems := checker.against_registry(code, has_party_org, registry.get(code)):
            error.message = "；".join([error.message, *problems])
    errors = [error for error, _, _ in bad] + kept.errors + kept.joint_errors()
    errors.sort(key=lambda e: e.line)
    return total, errors, [] if errors else kept.chunks


def _code_or_none(code: str) -> str | None:
    try:
        return normalise_credit_code(code)
    except DomainError:
        return None


@task("摸底导入：校验文件")
def check_registry_import(job_id: int) -> None:
    run_registry_check(job_id)


def enqueue_registry_check(job: RegistryImport) -> None:
    """Put an uploaded, committed file on the job queue: a consumer checks it (check_registry_import)."""
    check_registry_import(job.id)


def run_registry_check(job_id: int) -> None:
    """Check an uploaded file (摸底表校验) and store the result in its import: the bad rows and their reasons, or the
    checked rows, ready to be confirmed. Nothing of the registry is touched. Idempotent as the commit is: an import
    another consumer is checking is left alone, one whose consumer died is checked from the start."""
    with _taken_up(job_id, ImportStatus.CHECKING) as beat:
        if beat is None:
            return
        attempt = beat.attempt
        try:
            job = db.session.get(RegistryImport, job_id)
            total, errors, good = _check_rows(job.file.data, job.unit, beat)
            db.session.expunge(job.file)  # its megabytes are not needed again in this session
            if not (job := _still_mine(job_id, attempt, ImportStatus.CHECKING)):
                db.session.rollback()
                return
            bad_lines = {e.line for e in errors}
            job.status = ImportStatus.INVALID if errors else ImportStatus.READY
            job.total_rows, job.error_count = total, len(bad_lines)
            job.errors = [{"line": e.line, "code": e.code, "message": e.message} for e in errors]
            job.rows = [] if errors else good
            _checked(job)
            record_event("check_registry", job, job.created_by,
                         f"校验摸底表 {job.file.filename}：{total} 行，{len(bad_lines)} 行有错误")
            db.session.commit()
        except DomainError as refused:  # the file as a whole: too many rows, or a limit passed while reading it
            db.session.rollback()
            if job := _still_mine(job_id, attempt, ImportStatus.CHECKING):
                job.status, job.message, job.errors, job.error_count = ImportStatus.INVALID, refused.message, [], 0
                _checked(job)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("registry import %s: check failed", job_id)
            if job := _still_mine(job_id, attempt, ImportStatus.CHECKING):
                job.status, job.message = ImportStatus.FAILED, "校验失败，名录未作任何修改：读取或校验文件时出错，请稍后重新上传"
                _checked(job)
            db.session.commit()


def _checked(job: RegistryImport) -> None:
    # The commit, once confirmed, counts its own attempts and beats its own heartbeat.
    job.attempts, job.heartbeat_at, job.processed_rows = 0, None, 0


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
    with _taken_up(job_id, ImportStatus.RUNNING) as beat:
        if beat is None:
            return
        attempt = beat.attempt
        try:
            job = db.session.get(RegistryImport, job_id)
            created, updated, differences = _write_rows(job, beat)
            if not _still_mine(job_id, attempt, ImportStatus.RUNNING):
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
            if job := _still_mine(job_id, attempt, ImportStatus.RUNNING):
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
            if job := _still_mine(job_id, attempt, ImportStatus.RUNNING):
                job.status = ImportStatus.FAILED
                job.message = ("导入失败，名录未作任何修改：" + (error.args[0] if isinstance(error, DomainError)
                                                               else "数据库写入出错，请稍后重新上传校验"))[:500]
                job.finished_at = datetime.now(timezone.utc)
            db.session.commit()


@contextmanager
def _taken_up(job_id: int, status: ImportStatus) -> Iterator["_Heartbeat | None"]:
    """An import taken up to check or write it (_claim), its heartbeat beating while the caller works; None when it
    is not this consumer's to take."""
    attempt = _claim(job_id, status)
    if attempt is None:
        yield None
        return
    with _Heartbeat(current_app._get_current_object(), job_id, attempt, status) as beat:
        yield beat


def _claim(job_id: int, status: ImportStatus) -> int | None:
    """Take an import up to check or write it (status), in a transaction of its own: its attempt's number, or None when
    it is not in that status, another consumer's heartbeat on it is fresh, or it was taken up MAX_ATTEMPTS times
    already."""
    now = datetime.now(timezone.utc)
    stale = now - timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])
    attempt = db.session.execute(
        sa.update(RegistryImport)
        .where(RegistryImport.id == job_id, RegistryImport.status == status,
               RegistryImport.attempts < MAX_ATTEMPTS,
               sa.or_(RegistryImport.heartbeat_at.is_(None), RegistryImport.heartbeat_at < stale))
        .values(attempts=RegistryImport.attempts + 1, heartbeat_at=now, processed_rows=0)
        .returning(RegistryImport.attempts).execution_options(synchronize_session=False)).scalar()
    db.session.commit()
    return attempt


def _still_mine(job_id: int, attempt: int, status: ImportStatus) -> RegistryImport | None:
    """The import, locked, if no other consumer has taken it up since this one did (attempt), still in status."""
    job = db.session.scalar(sa.select(RegistryImport).where(RegistryImport.id == job_id)
                            .with_for_update(of=RegistryImport).execution_options(populate_existing=True))
    return job if job is not None and job.attempts == attempt and job.status is status else None


class _Heartbeat:
    """Writes the import's heartbeat and the rows checked or written so far (its progress bar, on every worker and
    host) every JOBS_HEARTBEAT_SECONDS, from a connection of its own: the import's rows wait in their one transaction.
    While the file is checked, the number of its rows is not known until it is read: the total written is the rows
    checked divided by the share of the file read, an estimate that is exact at the end.

    On SQLite, whose one writer at a time is the import, not in the database: a second connection's write would wait
    for the import's transaction to end, or, holding the file's reserved lock, make the import's own first write fail
    (SQLite gives up at once on such a deadlock). There the claim's heartbeat is the only one (writing the zone's whole
    registry takes seconds, far less than JOBS_STALE_SECONDS), and the rows written so far go to the job queue's own
    storage (another file, or the server JOBS_URL names), where import_progress reads them."""

    def __init__(self, app: Flask, job_id: int, attempt: int, status: ImportStatus):
        self.app, self.job_id, self.attempt, self.status = app, job_id, attempt, status
        self.done = 0  # rows checked or written so far, set by _check_rows or _write_rows
        self.share = None  # while checking: the share of the file read, set by the reader (read)
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

    def read(self, share: float) -> None:
        self.share = share

    def total(self, done: int) -> int | None:
        """The rows the file has, as far as can be told yet: None once known (the import's total_rows)."""
        if self.status is not ImportStatus.CHECKING:
            return None
        return max(done, round(done / self.share)) if self.share else done

    def run(self) -> None:
        with self.app.app_context():
            while not self.stopped.wait(self.app.config["JOBS_HEARTBEAT_SECONDS"]):
                done = self.done
                total = self.total(done)
                try:
                    if self.beside:
                        queue.put(_progress_key(self.job_id), (self.attempt, done, total))
                        continue
                    values = {"heartbeat_at": datetime.now(timezone.utc), "processed_rows": done}
                    with db.engine.begin() as connection:
                        connection.execute(
                            sa.update(RegistryImport)
                            .where(RegistryImport.id == self.job_id, RegistryImport.attempts == self.attempt,
                                   RegistryImport.status == self.status)
                            .values(values if total is None else {**values, "total_rows": total}))
                except Exception:
                    log.warning("registry import %s: heartbeat not written", self.job_id, exc_info=True)


class ImportConflicts(Exception):
    """Rows that the registry, as it is when the import commits, contradicts."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} conflicts")
        self.errors = errors


def _conflicts(rows: list[dict[str, Any]], registry: dict[str, Registered], hosts: set[str], unit_id: int | None,
               unit_names: dict[int, str]) -> list[RowError]:
    """Rows checked again against the registry as it is now, in the writing transaction. Whatever changed since
    the file was checked, in either direction (organised or not, in a joint branch or out of it, moved to another
    unit, established through the app), is kept: a row that would undo it is listed. A joint branch's host must
    still have its Party organisation (hosts); a unit's import (unit_id) still touches only its own organisations."""
    errors = []
    for row in rows:
        code, line, now = row["credit_code"], row["line"], registry.get(row["credit_code"])
        problems = _undone(row, now, unit_names) if now is not None else []
        if now is not None and unit_id is not None and now.unit_id != unit_id:
            problems.append("校验之后该组织已被登记到其他单位，本单位不能修改")
        if row["joint_branch_code"] and row["joint_branch_code"] not in hosts:
            problems.append(f"联合党支部牵头组织 {row['joint_branch_code']} 已不在名录中或已无党组织")
        errors += [RowError(line, code, problem) for problem in problems]
    return errors


def _hosts_now(job: RegistryImport) -> set[str]:
    """The credit codes the import's joint branches may live in now: as its rows say of those they name, as the
    registry says (locked) of the others."""
    named, in_file = set(), {}
    for row in _checked_rows(job):
        in_file[row["credit_code"]] = row["has_party_org"]
        if row["joint_branch_code"]:
            named.add(row["joint_branch_code"])
    return _hosts(((code, in_file[code]) for code in named if code in in_file),
                  registry_of((code for code in named if code not in in_file), lock=True))


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


def _packed(rows: list[list]) -> str:
    """Checked rows (ROW_KEYS) as the import keeps them: JSON, deflated, in base64. 110,000 rows are 2 MB so, not 40 as
    JSON objects, and the consumer that checks or writes them never holds more than a chunk of them unpacked."""
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(zlib.compress(text.encode(), 1)).decode("ascii")


def _checked_rows(job: RegistryImport) -> Iterator[dict[str, Any]]:
    """The import's checked rows, one at a time, by name: unpacked a chunk at a time (_packed), or, for a file checked
    before they were kept so, the dicts they were kept as."""
    for kept in job.rows:
        if isinstance(kept, dict):
            yield dict(kept)
            continue
        for row in json.loads(zlib.decompress(base64.b64decode(kept))):
            yield dict(zip(ROW_KEYS, row))


def _write_rows(job: RegistryImport, beat: "_Heartbeat") -> tuple[int, int, list]:
    """Write the rows in bulk, CHUNK at a time: each batch's organisations are locked and looked up, its rows checked
    again against them (_conflicts: ImportConflicts once all are checked, nothing more written meanwhile), then
    inserted or updated. An organisation that registered itself is merged into: its verification and its contact
    stay, the file's values are written, and every field where they differed is returned, to be listed on the
    import (job.differences) for the unit to settle with the organisation. The job's row is not touched here: a
    heartbeat updates it meanwhile from another connection."""
    unit_names = dict(db.session.execute(sa.select(Unit.id, Unit.name)).all())
    hosts = _hosts_now(job)
    registered = _self_registered()
    differences: list = []
    conflicts: list[RowError] = []
    coverage: dict[str, bool] = {}  # the organisations whose coverage the file changes: covered now or no longer
    counts = {"insert": 0, "update": 0}
    for batch in _chunks(_checked_rows(job)):
        # By the registry as it is now: an organisation may have registered since the file was checked.
        registry = registry_of((row["credit_code"] for row in batch), lock=True)
        conflicts += _conflicts(batch, registry, hosts, job.unit_id, unit_names)
        if conflicts:
            continue  # the transaction will be rolled back: only the rest of the conflicts are worth finding
        statements: dict[str, list] = {"insert": [], "update": []}
        for checked in batch:
            line = checked.pop("line")
            del checked["seen"]
            values = {**checked, "kind": OrgKind(checked["kind"])}
            now = registry.get(checked["credit_code"])
            covered = checked["has_party_org"] or checked["joint_branch_code"] is not None
            if covered != (now is not None and (now.has_party_org or now.joint_branch_code is not None)):
                coverage[checked["credit_code"]] = covered
            if now is None:
                statements["insert"].append(values)
                continue
            values["id"] = now.id
            for key in ("contact_name", "contact_phone"):
                if not values[key] or now.id in registered:
                    del values[key]  # a blank cell never erases a contact, nor does a file replace one who registered
            if now.id in registered:
                if not values["address"]:
                    del values["address"]  # nor a blank cell an address the organisation gave
                differences.extend(_differences(line, values, registered[now.id], unit_names))
            statements["update"].append(values)
        for verb, write in (("insert", insert_organisations), ("update", update_organisations)):
            if statements[verb]:
                write(statements[verb])
                counts[verb] += len(statements[verb])
        beat.done += len(batch)
    if conflicts:
        raise ImportConflicts(conflicts)
    record_by_code(coverage, CoverageCause.REGISTRY)
    return counts["insert"], counts["update"], differences


def _chunks(items: Iterable) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


# What a consumer does to an import in each status it works in: the task, and what an import that its consumers
# left twice says (their transactions died with them: the registry is unchanged).
WORK = {
    ImportStatus.CHECKING: (check_registry_import, "校验中断（后台任务进程两次在校验时退出），名录未作任何修改。请重新上传。",
                            "摸底表校验两次中断，已标记为失败"),
    ImportStatus.RUNNING: (write_registry_import,
                           "导入中断（后台任务进程两次在写入时退出），名录未作任何修改。请重新上传校验后再确认导入。",
                           "摸底导入两次中断，已标记为失败"),
}
INTERRUPTED = WORK[ImportStatus.RUNNING][1]


@periodic(crontab(minute="*"), "摸底导入：接续中断的校验和导入", at_start=True)
def requeue_stale_imports() -> None:
    for run, job_id in take_up_stale_imports():
        run(job_id)


def take_up_stale_imports() -> list[tuple[Callable, int]]:
    """Imports whose consumer died (接续中断的校验和导入): being checked or written, with a heartbeat (or, never taken
    up, an upload or a confirmation) older than JOBS_STALE_SECONDS and no task waiting for them. One taken up fewer
    than MAX_ATTEMPTS times is returned with its task, to be enqueued once this is committed; one taken up that often
    is marked failed. Commits."""
    stale = datetime.now(timezone.utc) - timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])
    waiting = {(queue._registry.task_to_string(type(t)), t.args[0]) for t in queue.pending() if t.args}
    again = []
    since = sa.func.coalesce(RegistryImport.heartbeat_at, RegistryImport.started_at, RegistryImport.created_at)
    working = sa.select(RegistryImport).where(RegistryImport.status.in_(list(WORK)), since < stale)
    for job in db.session.scalars(working):
        run, interrupted, event = WORK[job.status]
        if (task_name(run), job.id) in waiting:
            continue
        interrupt_runs(task_name(run), [job.id], "执行中断：消费进程退出，心跳已停止")
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.message, job.finished_at = ImportStatus.FAILED, interrupted, datetime.now(timezone.utc)
            record_event("import_registry.interrupted", job, None, event)
        else:
            again.append((run, job.id))
    db.session.commit()
    return again


def _progress_key(job_id: int) -> str:
    return f"registry-import-progress:{job_id}"


def import_progress(job: RegistryImport) -> tuple[int, int]:
    """Rows checked or written so far, and of how many (while the file is checked, an estimate), as the import's
    heartbeat last wrote them (every worker reads the same): in the import's row, or on SQLite in the job queue's
    storage (_Heartbeat)."""
    if job.status is ImportStatus.DONE:
        return job.total_rows, job.total_rows
    done, total = job.processed_rows, job.total_rows
    if job.status.working and db.engine.dialect.name == "sqlite":
        noted = queue.get(_progress_key(job.id), peek=True)
        if noted is not None and noted[0] == job.attempts:  # a consumer that died before this attempt says nothing
            done, total = max(done, noted[1]), max(total, noted[2] or 0)
    return done, max(done, total)


def recent_imports(user: User, limit: int = 10) -> list[RegistryImport]:
    """The latest imports this user may see (RegistryImport.can_view): an admin all, a reviewer their own of their
    unit."""
    query = sa.select(RegistryImport).order_by(RegistryImport.id.desc()).limit(limit)
    if user.role is not Role.ADMIN:
        query = query.where(RegistryImport.created_by_id == user.id, RegistryImport.unit_id == user.unit_id)
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
