"""Checks of Chinese identifiers and contact data, each returning the normalised value or refusing."""
import re

from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from . import DomainError

# ASCII: Python's \d also takes full-width and Arabic-Indic digits, which no SMS provider or telephone dials.
_MOBILE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$", re.ASCII)
_ANY_MOBILE = re.compile(r"1\d{10}", re.ASCII)


# A code as stdnum's uscc keeps it (eight digits, then ten of its alphabet): the usual case, checked without the
# cleaning stdnum does three times over (a registry import checks 110,000 codes).
_COMPACT_USCC = re.compile(r"[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}", re.ASCII)


def normalise_credit_code(value: str, field: str = "credit_code") -> str:
    """Validate a 统一社会信用代码 with its check digit; return it compact and upper-case."""
    if _COMPACT_USCC.fullmatch(value or "") and value[-1] == uscc.calc_check_digit(value):
        return value
    code = uscc.compact(value or "").upper()
    try:
        return uscc.validate(code)
    except InvalidChecksum:
        raise DomainError("统一社会信用代码校验位不正确，请核对营业执照或登记证书上的代码", field) from None
    except ValidationError:
        raise DomainError("统一社会信用代码应为18位数字或大写字母（不含 I、O、Z、S、V）", field) from None


def normalise_phone(value: str, field: str = "contact_phone") -> str:
    """Accept an 11-digit mobile number or a landline with area code (0475-1234567)."""
    phone = re.sub(r"[\s()（）]", "", value or "")
    if _MOBILE.match(phone) or _LANDLINE.match(phone):
        return phone
    raise DomainError("请填写11位手机号码或带区号的固定电话，如 0475-8123456", field)


def check_password_policy(password: str, field: str = "password") -> None:
    """At least 8 characters with both letters and digits."""
    if len(password or "") < 8 or not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise DomainError("密码至少8位，且须同时包含字母和数字", field)


_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def normalise_mobile(value: str, field: str = "mobile") -> str:
    """A mainland mobile number (手机号码): 11 digits starting with 1; spaces and dashes are dropped. Empty stays empty."""
    mobile = re.sub(r"[\s-]", "", value or "")
    if not mobile or _ANY_MOBILE.fullmatch(mobile):
        return mobile
    raise DomainError("请填写11位手机号码（以1开头），如 13800000000", field)


def normalise_email(value: str, field: str = "email") -> str:
    """An e-mail address (电子邮箱), trimmed. Empty stays empty."""
    email = (value or "").strip()
    if not email or (len(email) <= 120 and _EMAIL.match(email)):
        return email
    raise DomainError("请填写正确的电子邮箱地址，如 zhangsan@example.org", field)
