"""Exports of the committee's to-do lists (应建未建、应联未联导出), written on the job queue and downloaded when done.

At the city's 110,000 organisations 应建未建 holds 31,350 rows: too many to write in a web request (seconds of a
worker). The request records what was asked (request_todo_export) and enqueues it; a consumer reads the list a page
at a time in the lists' order (keyset: each page starts after the last row of the one before, from the lists'
partial indexes, so every page costs the same however deep), once to size the columns and once to write them,
saying after each page how far it has got; the page polls that, and the asker downloads the file. A day later the
export and its file are deleted (delete_old_todo_exports).
"""
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from jobs.queue import crontab, periodic, task
from models import (
    EXPORT_KEPT_FOR, ExportStatus, Organisation, OrgKind, StoredFile, TodoExport, Unit, User, db, export_scope, utcnow,
)

from . import DomainError
from .dashboard import TODO_LISTS, TODO_ORDER, TodoFilter, todo_conditions, todo_unit
from .files import keep_file
from .job_quota import refuse_over_quota
from .reference import unit_choices
from .settings import get_settings
from .spreadsheets import XLSX_TYPE
from .text import without_refused
from .workbooks import ColumnWidths, Table, as_of, dated_name, tables_workbook

log = logging.getLogger(__name__)

TODO_HEADERS = ["组织名称", "统一社会信用代码", "组织类别", "初审单位", "地址", "正式党员", "预备党员", "联系人", "联系电话"]
PAGE_ROWS = 1000  # rows a page: each page's query well under 50 ms at 110,000 organisations (bench/RESULTS.md)
Q_MAX = TodoExport.q.type.length
FAILED = "导出失败，请回到清单重新导出；如再次失败，请联系系统管理员。"
INTERRUPTED = "导出中断（后台任务进程已退出），请回到清单重新导出。"
EXPIRED = f"导出文件已超过 {int(EXPORT_KEPT_FOR.total_seconds() // 3600)} 小时，已删除，请回到清单重新导出。"

_COLUMNS = (Organisation.formal_members, Organisation.name, Organisation.id, Organisation.credit_code,
            Organisation.kind, Unit.name, Organisation.address, Organisation.probationary_members,
            Organisation.contact_name, Organisation.contact_phone)


# ---------------------------------------------------------------- asking

def request_todo_export(f: TodoFilter, scope: Unit | None, *, actor: User) -> TodoExport:
    """Record an export of a to-do list as filtered (导出清单); the caller commits, then enqueues it
    (enqueue_todo_export). A filter value the list page does not offer is refused, in words."""
    if f.list not in TODO_LISTS:
        raise DomainError("清单应为“" + "”或“".join(label for label, _ in TODO_LISTS.values()) + "”")
    if f.kind and f.kind not in OrgKind._value2member_map_:
        raise DomainError("组织类别无法识别，应为" + "、".join(k.label for k in OrgKind))
    if scope is None and f.unit_id is not None and f.unit_id not in {u.id for u in unit_choices()}:
        raise DomainError("初审单位不存在，请在清单页选择")
    if len(f.q.strip()) > Q_MAX:
        raise DomainError(f"名称或代码不超过{Q_MAX}个字")
    unfinished = (TodoExport.status == ExportStatus.QUEUED) | (
        (TodoExport.status == ExportStatus.RUNNING) & (TodoExport.heartbeat_at >= _stale_before()))
    refuse_over_quota(TodoExport, actor, unfinished, asked="导出", working="排队或生成")
    export = TodoExport(created_by=actor, scope_unit=scope, list=f.list, unit_id=None if scope else f.unit_id,
                        kind=f.kind, q=f.q.strip(), status=ExportStatus.QUEUED, created_at=utcnow())
    db.session.add(export)
    db.session.flush()
    return export


def enqueue_todo_export(export: TodoExport) -> None:
    """Put a recorded, committed export on the job queue (write_todo_export)."""
    write_todo_export(export.id)


def export_filter(export: TodoExport) -> TodoFilter:
    return TodoFilter(list=export.list, unit_id=export.unit_id, kind=export.kind, q=export.q)


def recent_todo_exports(user: User, limit: int = 5) -> list[TodoExport]:
    """The user's exports still kept, newest first (我最近的导出): those they may download (TodoExport.can_view)."""
    scope = export_scope(user)
    return list(db.session.scalars(
        sa.select(TodoExport).where(TodoExport.created_by_id == user.id,
                                    TodoExport.created_at >= utcnow() - EXPORT_KEPT_FOR,
                                    TodoExport.scope_unit_id.is_(None) if scope is None
                                    else TodoExport.scope_unit_id == scope)
        .order_by(TodoExport.id.desc()).limit(limit)))


def export_interrupted(export: TodoExport) -> bool:
    """A running export whose consumer stopped writing its heartbeat (it died): it will not finish."""
    return export.status is ExportStatus.RUNNING and (export.heartbeat_at or export.created_at) < _stale_before()


def _stale_before():
    """A running export's heartbeat older than this: its consumer died."""
    return utcnow() - timedelta(seconds=current_app.config["JOBS_STALE_SECONDS"])


# ---------------------------------------------------------------- writing

@task("待办清单：生成 Excel")
def write_todo_export(export_id: int) -> None:
    run_todo_export(export_id)


def run_todo_export(export_id: int) -> None:
    """Write a queued export's workbook and keep it (生成导出文件). Idempotent: an export taken up already (by this
    consumer or another) is left alone. Commits after each page, so that the page shows its progress."""
    taken = db.session.execute(
        sa.update(TodoExport).where(TodoExport.id == export_id, TodoExport.status == ExportStatus.QUEUED)
        .values(status=ExportStatus.RUNNING, heartbeat_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    if taken.rowcount != 1:
        return
    export = db.session.get(TodoExport, export_id)
    try:
        f, scope = export_filter(export), export.scope_unit
        name = dated_name(TODO_LISTS[f.list][0], unit.name if (unit := todo_unit(f, scope)) else "")
        data = todo_xlsx(f, scope, progress=lambda done, total: _progress(export_id, done, total))
        export.file = keep_file(name, XLSX_TYPE, data, actor=export.created_by)
        export.status, export.finished_at = ExportStatus.DONE, utcnow()
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("to-do export %s failed", export_id)
        db.session.execute(sa.update(TodoExport).where(TodoExport.id == export_id)
                           .values(status=ExportStatus.FAILED, message=FAILED, finished_at=utcnow()))
        db.session.commit()


def _progress(export_id: int, done: int, total: int) -> None:
    db.session.execute(sa.update(TodoExport).where(TodoExport.id == export_id)
                       .values(processed_rows=done, total_rows=max(total, done), heartbeat_at=utcnow())
                       .execution_options(synchronize_session=False))
    db.session.commit()


def todo_pages(f: TodoFilter, scope: Unit | None, rows: int | None = None) -> Iterator[list[list]]:
    """The filtered list a page at a time, in the lists' order (TODO_ORDER), each page a list of the export's rows.
    Each page starts after the last row of the one before (formal members, name, id): first the rest of that row's
    number of members, then those with fewer. Both are ranges of the lists' partial indexes, so a page deep in the
    list costs what the first does. rows: a page's rows, PAGE_ROWS by default."""
    rows = rows or PAGE_ROWS
    query = (sa.select(*_COLUMNS).join(Unit, Unit.id == Organisation.unit_id).where(*todo_conditions(f, scope))
             .order_by(*TODO_ORDER))
    last = None
    while True:
        if last is None:
            found = db.session.execute(query.limit(rows)).all()
        else:
            members, name, id_ = last
            found = db.session.execute(query.where(
                Organisation.formal_members == members,
                sa.tuple_(Organisation.name, Organisation.id) > sa.tuple_(sa.literal(name), sa.literal(id_)))
                .limit(rows)).all()
            if len(found) < rows:
                found += db.session.execute(query.where(Organisation.formal_members < members)
                                            .limit(rows - len(found))).all()
        if not found:
            return
        last = found[-1][:3]
        yield [[name, code, kind.label, unit, address, formal, probationary, contact, phone]
               for formal, name, _, code, kind, unit, address, probationary, contact, phone in found]
        if len(found) < rows:
            return


def todo_xlsx(f: TodoFilter, scope: Unit | None, *,
              progress: Callable[[int, int], None] = lambda done, total: None) -> bytes:
    """The whole filtered 应建未建/应联未联 list as XLSX (title, as-of line, filters), read a page at a time: once to
    size its columns, once to write them (a streamed sheet's widths come before its rows). progress(rows written,
    rows measured) after each page."""
    measured, total = ColumnWidths(TODO_HEADERS), 0
    for page in todo_pages(f, scope):
        for row in page:
            measured.add(row)
        total += len(page)
    progress(0, total)

    def rows() -> Iterator[list]:
        done = 0
        for page in todo_pages(f, scope):
            yield from page
            done += len(page)
            progress(done, total)

    label, unit = TODO_LISTS[f.list][0], todo_unit(f, scope)
    filters = [f"初审单位：{unit.name if unit else '全部'}",
               f"组织类别：{OrgKind(f.kind).label if f.kind in OrgKind._value2member_map_ else '全部'}"]
    if f.q.strip():
        filters.append(f"名称或代码含：{without_refused(f.q.strip())}")
    title = f"{get_settings()['zone_name']}{label}组织清单"
    return tables_workbook([Table(label, title, TODO_HEADERS, rows(), wrap=(0, 4), measured=measured)],
                           as_of("；".join(filters)))


# ---------------------------------------------------------------- cleaning up

@periodic(crontab(minute="41"), "待办清单导出：删除过期文件")
def sweep_old_todo_exports() -> None:
    delete_old_todo_exports()


def delete_old_todo_exports() -> int:
    """Delete the exports made more than EXPORT_KEPT_FOR ago, and their files (删除过期导出). Returns how many."""
    old = list(db.session.execute(sa.select(TodoExport.id, TodoExport.file_id)
                                  .where(TodoExport.created_at < utcnow() - EXPORT_KEPT_FOR)))
    if old:
        db.session.execute(sa.delete(TodoExport).where(TodoExport.id.in_([i for i, _ in old]))
                           .execution_options(synchronize_session=False))
        files = [file_id for _, file_id in old if file_id is not None]
        if files:
            db.session.execute(sa.delete(StoredFile).where(StoredFile.id.in_(files))
                               .execution_options(synchronize_session=False))
    db.session.commit()
    return len(old)
