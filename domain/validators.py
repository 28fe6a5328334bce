"""Checks of Chinese identifiers and contact data, each returning the normalised value or refusing."""
import re

from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from . import DomainError

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def normalise_credit_code(value: str, field: str = "credit_code") -> str:
    """Validate a 统一社会信用代码 with its check digit; return it compact and upper-case."""
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
