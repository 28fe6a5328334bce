"""Backups (备份与恢复): the whole database, uploads and issued documents included, in one file, with a manifest.

SQLite uses its online backup API (safe while the app runs); PostgreSQL uses pg_dump and pg_restore, which get the
password through their environment (PGPASSWORD), never on a command line that `ps` shows to every user.

The backup file and its manifest (`FILE.manifest.json`) are written readable by their owner only (0600): they hold
every account's password hash and every payee's account. The manifest says what the backup holds, read in the same
snapshot as the backup itself: the schema revision (alembic_version), the audit chain's head, the last document
number issued per year (document_counters), each table's row count, and the file's SHA-256; it is sealed with an
HMAC under AUDIT_KEY, so neither can be swapped or edited unnoticed.

A restore checks before it replaces anything: the manifest's seal and the file's hash; the schema revision (a backup
of another revision would leave the code and the tables disagreeing); and that no document counter goes back below a
number the live database has already issued (the restored one would issue it again, and two 批复 would carry one
number), and that the audit log would not lose rows the live one has (a backup older than the newest audit rows
would quietly cut the chain back to its own head, which is all the check afterwards looks for); only `force` with a
reason overrides either, that reason (and the live head given up) then being written to the audit log. After
restoring it compares the row counts and runs the audit verification against the manifest's head.

Files: the temporary `FILE.partial` is created exclusively (O_EXCL, and O_NOFOLLOW: a symlink planted in a shared
folder is refused, never followed to truncate another file) and 0600 from the start. A restore first copies the backup
into a private temporary directory (0700, the file 0600), hashing the bytes as it copies them, and restores that copy:
the file checked is the file restored, whatever happens to the original meanwhile.

The manifest's seal is an HMAC under AUDIT_KEY like the audit chain's, over a text that starts with its own label
("backup-manifest"), so a manifest's seal can never stand for an audit row's nor the other way round. The chain's rows
keep their unlabelled form (re-sealing the rows already written would need the key to bless whatever they now hold);
the label on one side is enough, since no audit row's text starts with it. Manifests written before the label
(format 1) are still read, sealed as they were.
"""
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from models import AuditEvent, DocumentCounter, db, utcnow

from . import DomainError

MANIFEST_FORMAT = 2  # 2: sealed with the label below; 1: before it (still read)
MANIFEST_LABEL = b"backup-manifest\n"


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + ".manifest.json")


def backup_database(target: Path) -> dict[str, Any]:
    """Write a consistent copy of the database to target (备份), and its manifest beside it; returns the manifest."""
    url = db.engine.url
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    fd = _create_private(partial)
    try:
        if url.get_backend_name() == "sqlite":
            with closing(sqlite3.connect(url.database)) as source, closing(sqlite3.connect(partial)) as copy:
                source.backup(copy)
            _same_file(fd, partial)  # sqlite3 opens it by name: still the file created above?
            engine = sa.create_engine(f"sqlite:///{partial}")
            try:
                with engine.connect() as conn:
                    facts = _facts(conn)
            finally:
                engine.dispose()
        elif url.get_backend_name() == "postgresql":
            facts = _dump_postgresql(url, fd)
        else:
            raise DomainError(f"不支持备份 {url.get_backend_name()} 数据库")
        os.lseek(fd, 0, os.SEEK_SET)
        with os.fdopen(os.dup(fd), "rb") as written:
            digest = _sha256_of(written)
        manifest = {"format": MANIFEST_FORMAT, "made_at": utcnow().isoformat(timespec="seconds"),
                    "database": url.get_backend_name(), "file": target.name, "file_sha256": digest, **facts}
        manifest["mac"] = seal_manifest(manifest)
        _same_file(fd, partial)
        os.replace(partial, target)
    finally:
        os.close(fd)
        partial.unlink(missing_ok=True)  # ours: created exclusively above (gone already once it became the target)
    _write_private(manifest_path(target), json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    return manifest


@dataclass
class RestoreOutcome:
    manifest: dict[str, Any]
    rewound: list[str] = field(default_factory=list)  # the counters a forced restore took back, in words
    audit_dropped: str = ""  # the audit rows a forced restore gave up, in words
    counts_differ: list[str] = field(default_factory=list)  # tables whose rows are not what the manifest says
    report: Any = None  # domain.audit.ChainReport of the restored database

    @property
    def sound(self) -> bool:
        return not self.counts_differ and self.report.intact


def restore_database(source: Path, *, force: bool = False, reason: str = "") -> RestoreOutcome:
    """Replace the database's contents with a backup (恢复), once its manifest checks out; then verify the restored
    audit chain. Everything written since the backup is lost."""
    from .audit import parse_head, record_event, verify_chain

    reason = reason.strip()
    if force and not reason:
        raise DomainError("强制恢复须用 --reason 写明原因，原因会写入审计日志")
    manifest = read_manifest(source)
    with _private_copy(source) as (copy, digest):
        if not hmac.compare_digest(digest, manifest["file_sha256"]):
            raise DomainError(f"备份文件 {source.name} 与清单不符：文件被改动或不完整")
        live = _live_facts()
        if manifest["schema_revision"] != live["schema_revision"]:
            raise DomainError(f"备份的数据库版本为 {manifest['schema_revision']}，当前数据库为 {live['schema_revision']}："
                              "版本不同，不能恢复。请换用同一版本的备份，或先把程序和数据库升级到与备份相同的版本")
        rewound = _rewound_counters(manifest["document_numbers"], live["document_numbers"])
        dropped = _dropped_audit_rows(manifest.get("audit_head"), live["audit_head"])
        if (rewound or dropped) and not force:
            harms = ["恢复会让发文字号倒退，已发出的文号将被再次使用：" + "；".join(rewound)] if rewound else []
            harms += [dropped] if dropped else []
            raise DomainError("。".join(harms) + "。如确需恢复，请加 --force --reason \"原因\"")
        _replace_database(copy)
    outcome = RestoreOutcome(manifest, rewound, dropped)
    restored = _live_facts()
    outcome.counts_differ = [f"{table}：备份中 {n} 行，恢复后 {restored['row_counts'].get(table)} 行"
                             for table, n in manifest["row_counts"].items() if restored["row_counts"].get(table) != n]
    if force:
        record_event("backup.restore_forced", _Backup(), None, f"强制恢复备份 {source.name}：{reason}"[:500],
                     reason=reason, file=source.name, made_at=manifest["made_at"], rewound=rewound,
                     audit_dropped=dropped, live_audit_head=live["audit_head"])
        db.session.commit()
    head = manifest.get("audit_head")
    outcome.report = verify_chain(head=parse_head(head) if head else None)
    return outcome


def _dropped_audit_rows(backup_head: str | None, live_head: str | None) -> str:
    """The live audit rows a restore would drop, in words ("" when none): the live chain runs past the backup's head,
    or has a different row at it."""
    if live_head is None:
        return ""
    live_seq, live_hash = live_head.split(":")
    backup_seq, backup_hash = backup_head.split(":") if backup_head else ("0", "")
    if int(live_seq) > int(backup_seq):
        return (f"恢复会让审计日志倒退：当前审计日志已到第 {live_seq} 条，备份中只到第 {backup_seq} 条"
                f"（第 {int(backup_seq) + 1} 至 {live_seq} 条会丢失）")
    if int(live_seq) == int(backup_seq) and live_hash != backup_hash:
        return f"恢复会替换当前的审计日志：两者都到第 {live_seq} 条，但内容不同（当前的记录会丢失）"
    return ""


class _Backup:
    """What a forced restore's audit event is about: the backup, which has no row of its own."""

    __tablename__ = "backups"
    id = None


def read_manifest(source: Path) -> dict[str, Any]:
    """The backup's manifest, once its seal checks out (the file's hash is checked on the copy that is restored)."""
    if not source.exists():
        raise DomainError(f"备份文件 {source} 不存在")
    path = manifest_path(source)
    if not path.exists():
        raise DomainError(f"找不到备份清单 {path.name}：无法核对备份的数据库版本和内容，不能恢复")
    try:
        manifest = json.loads(path.read_text())
        mac = manifest.pop("mac")
    except (ValueError, KeyError, AttributeError):
        raise DomainError(f"备份清单 {path.name} 无法读取") from None
    if manifest.get("format") not in (1, MANIFEST_FORMAT):
        raise DomainError(f"备份清单的格式 {manifest.get('format')} 无法识别")
    if not isinstance(mac, str) or not hmac.compare_digest(mac, seal_manifest(manifest)):
        raise DomainError(f"备份清单 {path.name} 的校验码不符：清单被改动，或备份来自使用另一把 AUDIT_KEY 的系统")
    return manifest


@contextmanager
def _private_copy(source: Path) -> Iterator[tuple[Path, str]]:
    """A copy of the backup in a directory only we can enter, and the SHA-256 of the bytes copied: the restore
    reads the very bytes that were hashed. Removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="zone-restore-") as directory:  # mkdtemp: 0700
        copy = Path(directory) / "backup"
        digest = hashlib.sha256()
        with source.open("rb") as original, os.fdopen(_create_private(copy), "wb") as target:
            for chunk in iter(lambda: original.read(1 << 20), b""):
                digest.update(chunk)
                target.write(chunk)
        yield copy, digest.hexdigest()


def fingerprint() -> dict[str, str]:
    """A SHA-256 of every table's rows in key order: two databases with equal fingerprints hold the same data."""
    result = {}
    for table in db.metadata.sorted_tables:
        digest = hashlib.sha256()
        order = list(table.primary_key.columns) or list(table.columns)
        for row in db.session.execute(sa.select(table).order_by(*order)):
            digest.update(repr(tuple(row)).encode())
        result[table.name] = digest.hexdigest()
    return result


def _facts(conn: sa.Connection) -> dict[str, Any]:
    """What the manifest says of a database, read on one connection (in the backup's snapshot)."""
    revisions = sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    last = conn.execute(sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    numbers = conn.execute(sa.select(DocumentCounter.year, DocumentCounter.last_number).order_by(DocumentCounter.year))
    return {
        "schema_revision": ",".join(revisions),
        "audit_head": f"{last.seq}:{last.hash}" if last else None,
        "document_numbers": {str(year): number for year, number in numbers},
        "row_counts": {table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                       for table in db.metadata.sorted_tables},
    }


def _live_facts() -> dict[str, Any]:
    with db.engine.connect() as conn:
        return _facts(conn)


def _rewound_counters(backup: dict[str, int], live: dict[str, int]) -> list[str]:
    rewound = []
    for year, issued in sorted(live.items()):
        kept = backup.get(year, 0)
        if kept < issued:
            rewound.append(f"{year} 年已发到第 {issued} 号，备份中只到第 {kept} 号（第 {kept + 1} 至 {issued} 号会被重复使用）")
    return rewound


def _replace_database(source: Path) -> None:
    url = db.engine.url
    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the old pages or tables
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(source)) as backup, closing(sqlite3.connect(url.database)) as live:
            backup.backup(live)
    elif url.get_backend_name() == "postgresql":
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={_libpq_url(url)}", str(source)], url)
    else:
        raise DomainError(f"不支持恢复 {url.get_backend_name()} 数据库")


def _dump_postgresql(url: sa.URL, fd: int) -> dict[str, Any]:
    """pg_dump into the open file fd (its standard output), reading the manifest's facts in the very snapshot it
    dumps (pg_export_snapshot)."""
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        conn.begin()
        try:
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            facts = _facts(conn)
            _run(["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                  f"--dbname={_libpq_url(url)}"], url, stdout=fd)
        finally:
            conn.rollback()
    return facts


def _libpq_url(url: sa.URL) -> str:
    # pg_dump speaks libpq, which knows nothing of SQLAlchemy's "+psycopg" driver suffix. The password is left out:
    # a command line is visible to every user of the machine (ps); it goes in the child's environment instead.
    # (URL.set cannot clear a field: None there means "unchanged".)
    return sa.URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                         query=url.query).render_as_string(hide_password=False)


def pg_environment(url: sa.URL) -> dict[str, str]:
    """The environment of a pg_dump or pg_restore child: ours, with the password as PGPASSWORD when there is one."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _run(command: list[str], url: sa.URL, stdout: int | None = None) -> None:
    try:
        subprocess.run(command, check=True, stdout=stdout if stdout is not None else subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=pg_environment(url))
    except FileNotFoundError:
        raise DomainError(f"找不到 {command[0]}，请安装 PostgreSQL 客户端（apt-get install postgresql-client）") from None
    except subprocess.CalledProcessError as failure:
        raise DomainError(f"{command[0]} 失败：{failure.stderr.strip()[:500]}") from None


def _create_private(path: Path) -> int:
    """Create path for writing, readable and writable by its owner only, and return its descriptor. Exclusively:
    a file (or a symlink planted there) already at path is refused, never followed, truncated or re-permissioned."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise DomainError(f"临时文件 {path} 已存在：可能另一次备份正在进行，或上次备份中断。"
                          "请确认没有备份在运行、并查明该文件的来历后将其删除，再重试") from None
    os.fchmod(fd, 0o600)  # whatever the umask
    return fd


def _same_file(fd: int, path: Path) -> None:
    """Refuse if the name no longer leads to the file we created (replaced behind our back in a shared folder)."""
    here, there = os.fstat(fd), os.lstat(path)
    if (here.st_dev, here.st_ino) != (there.st_dev, there.st_ino):
        raise DomainError(f"临时文件 {path} 在备份过程中被替换，备份已中止")


def _write_private(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    fd = _create_private(partial)
    try:
        with os.fdopen(os.dup(fd), "w", encoding="utf-8") as f:
            f.write(text)
        _same_file(fd, partial)
        os.replace(partial, path)
    finally:
        os.close(fd)
        partial.unlink(missing_ok=True)


def seal_manifest(manifest: dict[str, Any]) -> str:
    """The manifest's HMAC under AUDIT_KEY (over everything but the seal itself), its text labelled as a manifest's
    (format 1, from before the label, without it)."""
    from .seal import audit_key

    text = json.dumps(manifest, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    label = b"" if manifest.get("format") == 1 else MANIFEST_LABEL
    return hmac.new(audit_key(), label + text, hashlib.sha256).hexdigest()


def _sha256_of(f) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()
