"""Backups (备份与恢复): the whole database, uploads and issued documents included, in one file.

SQLite uses its online backup API (safe while the app runs); PostgreSQL uses pg_dump and pg_restore.
"""
import hashlib
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy as sa

from models import db

from . import DomainError


def _libpq_url(url: sa.URL) -> str:
    # pg_dump speaks libpq, which knows nothing of SQLAlchemy's "+psycopg" driver suffix.
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def backup_database(target: Path) -> None:
    """Write a consistent copy of the database to target (备份)."""
    url = db.engine.url
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database) as source, sqlite3.connect(target) as copy:
            source.backup(copy)
    elif url.get_backend_name() == "postgresql":
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq_url(url)])
    else:
        raise DomainError(f"不支持备份 {url.get_backend_name()} 数据库")


def restore_database(source: Path) -> None:
    """Replace the database's contents with a backup (恢复). Everything written since the backup is lost."""
    if not source.exists():
        raise DomainError(f"备份文件 {source} 不存在")
    url = db.engine.url
    db.session.remove()
    db.engine.dispose()  # no pooled connection may hold the old pages or tables
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(source) as backup, sqlite3.connect(url.database) as live:
            backup.backup(live)
    elif url.get_backend_name() == "postgresql":
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
              f"--dbname={_libpq_url(url)}", str(source)])
    else:
        raise DomainError(f"不支持恢复 {url.get_backend_name()} 数据库")


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


def _run(command: list[str]) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise DomainError(f"找不到 {command[0]}，请安装 PostgreSQL 客户端（apt-get install postgresql-client）") from None
    except subprocess.CalledProcessError as failure:
        raise DomainError(f"{command[0]} 失败：{failure.stderr.strip()[:500]}") from None
