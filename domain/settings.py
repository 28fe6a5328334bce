"""Admin-editable settings (系统设置) with their defaults: the document prefix, the issuing organ, fonts, the seal."""
import re
import subprocess

import sqlalchemy as sa

from models import Setting, StoredFile, User, db

from . import DomainError
from .audit import record_event
from .files import store_upload
from .text import check_text

DEFAULTS = {
    "doc_prefix": "通开党工字",
    "issuing_organ": "中共通辽经济技术开发区工作委员会",
    "zone_name": "通辽经济技术开发区",
    "printing_office": "中共通辽经济技术开发区工作委员会办公室",
    "copy_to": "",
    "sheet_compiler": "中共通辽经济技术开发区工作委员会组织部",
    "body_font": "Noto Serif CJK SC",
    "title_font": "Noto Serif CJK SC",
    "seal_file_id": "",
    # The zone's licensed fonts uploaded in 系统设置 (domain/fonts.py): StoredFile ids, blank for none.
    "body_font_file_id": "",
    "title_font_file_id": "",
    "instructor_capacity": "3",
    "visit_interval_days": "30",
}
LABELS = {
    "doc_prefix": "发文字号前缀",
    "issuing_organ": "发文机关名称（用于发文机关标志和署名）",
    "zone_name": "开发区全称（用于拨付明细表和导出表格的标题）",
    "printing_office": "印发机关（版记中的“…印发”）",
    "copy_to": "抄送机关（版记的抄送栏，机关之间用逗号隔开，末尾的句号由系统加上；留空则不印抄送栏）",
    "sheet_compiler": "拨付明细表的编制单位",
    "body_font": "正文的系统字体（未上传字体文件时使用；须已安装在服务器上）",
    "title_font": "标题及发文机关标志的系统字体（未上传字体文件时使用；须已安装在服务器上）",
    "instructor_capacity": "新增指导员的默认最多指导组织数",
    "visit_interval_days": "指导间隔天数（超过即标为逾期未指导）",
}
NUMERIC = {"instructor_capacity": (1, 100), "visit_interval_days": (1, 365)}
FONTS = ("body_font", "title_font")
# A family name as fontconfig lists them ("Noto Serif CJK SC", "方正小标宋_GBK"); the PDFs' style sheets name it.
FONT_NAME = re.compile(r"^[\w .-]{1,80}$")


def installed_font_families() -> set[str] | None:
    """Every family name fontconfig knows on this server (Pango, and so WeasyPrint, finds fonts through it), or
    None where fontconfig's fc-list is missing and nothing can be said. Asked afresh each time: an administrator
    may install a font and set it without restarting the app, and settings are saved rarely."""
    try:
        listed = subprocess.run(["fc-list", "--format", "%{family}\n"], capture_output=True, text=True, timeout=10,
                                check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    # A font may carry several names ("Noto Serif CJK SC,Noto Serif CJK SC Light"), some in Chinese.
    return {name.strip() for line in listed.splitlines() for name in line.split(",") if name.strip()}


def get_settings() -> dict[str, str]:
    """Every setting, stored values over the defaults."""
    stored = dict(db.session.execute(sa.select(Setting.key, Setting.value)).all())
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}


def update_settings(values: dict[str, str], *, actor: User) -> None:
    """Save settings (修改系统设置); a blank value returns to the default."""
    for key, value in values.items():
        if key not in LABELS:
            raise DomainError(f"未知的设置项 {key}")
        value = check_text((value or "").strip(), LABELS[key], key)
        if key == "doc_prefix" and (len(value) > 20 or any(c in value for c in "〔〕[]")):
            raise DomainError("发文字号前缀不超过20个字，且不含括号（年份的〔〕由系统加上）", key)
        if key in FONTS and value and not FONT_NAME.match(value):
            raise DomainError("字体名称只能包含文字、数字、空格、点、下划线和连字符", key)
        if key in FONTS and value and value != DEFAULTS[key]:
            # An unknown family is not an error to WeasyPrint: it quietly sets the document in a fallback
            # typeface, and an issued document never changes.
            families = installed_font_families()
            if families is not None and value not in families:
                raise DomainError(f"服务器上没有安装字体“{value}”，请先安装该字体，或填写已安装的字体名称"
                                  f"（如 {DEFAULTS[key]}）", key)
        if key in NUMERIC and value:
            low, high = NUMERIC[key]
            if not value.isdecimal() or not low <= int(value) <= high:
                raise DomainError(f"{LABELS[key]}应为 {low} 到 {high} 之间的整数", key)
        put_setting(key, value or DEFAULTS[key])
    record_event("update_settings", setting_row("doc_prefix"), actor, "修改系统设置", **values)


def set_seal(filename: str, data: bytes, *, actor: User) -> StoredFile:
    """Upload the seal image (上传印章): a PNG with a transparent background, printed red over the signature."""
    stored = store_upload(filename, data, actor=actor)
    if stored.content_type != "image/png":
        raise DomainError("印章须为背景透明的 PNG 图片", "seal")
    db.session.flush()
    put_setting("seal_file_id", str(stored.id))
    record_event("set_seal", setting_row("seal_file_id"), actor, f"上传印章图片 {stored.filename}")
    return stored


def seal_bytes(settings: dict[str, str]) -> bytes | None:
    if not settings["seal_file_id"]:
        return None
    stored = db.session.get(StoredFile, int(settings["seal_file_id"]))
    return stored.data if stored else None


def setting_row(key: str) -> Setting:
    """The row of a setting, made with its default if it has none yet (an event needs a subject)."""
    return db.session.get(Setting, key) or put_setting(key, DEFAULTS[key])


def put_setting(key: str, value: str) -> Setting:
    """Store one setting's value, for the verbs that set a file (the seal, the fonts)."""
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key, value=value)
        db.session.add(row)
    else:
        row.value = value
    db.session.flush()
    return row
