"""Uploaded files: checked by their content, not their name, and kept in the database with a SHA-256."""
import hashlib
import re

from models import StoredFile, User, db

from . import DomainError
from .text import without_refused

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# The first bytes of each accepted type; a renamed .exe starts with MZ and is refused.
SIGNATURES = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
}
TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPG", "image/png": "PNG"}


def size_text(size: int) -> str:
    """A size as the forms say it: 50 MB, 1.5 KB, 300 字节."""
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if size >= unit:
            return f"{size / unit:.1f}".removesuffix(".0") + f" {name}"
    return f"{size} 字节"


def sniff_type(data: bytes) -> tuple[str, str] | None:
    return next((kind for magic, kind in SIGNATURES.items() if data.startswith(magic)), None)


def clean_filename(name: str, extension: str) -> str:
    """Keep a readable (Chinese) name, drop paths and control characters, and end it in the real type."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = without_refused(base).strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r'[<>:"|?*]', "_", stem)[:80] or "附件"
    return stem + extension


def keep_file(filename: str, content_type: str, data: bytes, *, actor: User | None) -> StoredFile:
    """Keep bytes in the database with their size and SHA-256: an upload, an import's file, an issued PDF."""
    stored = StoredFile(filename=filename, content_type=content_type, size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), data=data, created_by=actor)
    db.session.add(stored)
    return stored


def store_upload(filename: str, data: bytes, *, actor: User | None) -> StoredFile:
    """Check and keep one uploaded file (PDF, JPG or PNG up to 10 MB)."""
    content_type, extension = checked_upload(filename, data, field="attachments")
    return keep_file(clean_filename(filename, extension), content_type, data, actor=actor)


def checked_upload(filename: str, data: bytes, *, field: str,
                   accept: tuple[str, ...] = ("application/pdf", "image/jpeg", "image/png")) -> tuple[str, str]:
    """The content type and extension of an uploaded file, refused (DomainError on `field`) when it is empty, over
    10 MB, or not of a type in `accept` by its content."""
    if not data:
        raise DomainError(f"文件“{filename}”是空的，请重新选择", field)
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError(f"文件“{filename}”超过 10 MB，请压缩后再上传", field)
    kind = sniff_type(data)
    if kind is None or kind[0] not in accept:
        names = [TYPE_NAMES[content_type] for content_type in accept]
        listed = "、".join(names[:-1]) + " 或 " + names[-1] if len(names) > 1 else names[0]
        raise DomainError(f"文件“{filename}”不是 {listed} 文件（按文件内容判断），请转换后再上传", field)
    return kind
