"""The error pages: every failure answers in Chinese, as a page or as the alert htmx swaps in, never a trace."""
from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from domain.pdf import PdfRenderError
from extensions import db

ERROR_MESSAGES = {
    400: "请求有误，请返回上一页重试。",
    401: "登录已过期或已在别处退出，本次操作未执行。请在新的标签页中重新登录，再回到本页提交，已填写的内容仍在本页。",
    403: "您没有权限访问此页面。",
    404: "页面不存在，或您无权查看该内容。",
    405: "不支持此操作方式。",
    409: "该事项已被他人处理，请刷新后查看最新状态。",
    413: "上传的内容过大：一次提交的文件合计不能超过 32 MB（每个附件不超过 10 MB），请减少或压缩文件后重试。",
    429: "请求过于频繁，请稍后再试。",
    500: "系统出现错误，已记录，请稍后重试。",
    503: "系统暂时无法连接数据库，请稍后重试。",
}


def register_errors(app: Flask) -> None:
    """Answer each error with its page (or alert) and status."""

    def render_error(code: int, message: str | None = None):
        message = message or ERROR_MESSAGES.get(code, ERROR_MESSAGES[500])
        template = "errors/_alert.html" if request.headers.get("HX-Request") else "errors/error.html"
        return render_template(template, code=code, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, "页面已过期或来源无效（CSRF 校验失败），请刷新页面后重试。")

    @app.errorhandler(HTTPException)
    def http_error(error):
        return render_error(error.code or 500)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(error):
        # An id or page number too large for the database's integers names nothing that exists. Any other value
        # the database refuses should never get this far (the forms limit lengths): log it to be fixed.
        if not isinstance(error, OverflowError) and "out of range" not in str(error):
            app.logger.warning("database refused a value: %s", error)
        db.session.rollback()
        return render_error(404)

    @app.errorhandler(OperationalError)
    def database_down(error):
        # The layout would ask the database for the current user; this page asks nothing. The pool's
        # pre-ping reconnects by itself once the database is back.
        app.logger.error("database unavailable: %s", error)
        db.session.rollback()
        return render_template("errors/unavailable.html", message=ERROR_MESSAGES[503]), 503, {"Retry-After": "30"}

    @app.errorhandler(PdfRenderError)
    def pdf_failed(error):
        # A PDF rendered in a child process (domain/pdf.py) that failed, died or ran out of time, or one that could
        # not be signed (domain/signing.py's SigningError, one of these: the keys, the timestamp authority): its
        # message says which, in Chinese, and the worker itself is fine.
        app.logger.error("PDF not made: %s", error)
        db.session.rollback()
        return render_error(503, str(error))

    @app.errorhandler(StaleDataError)
    def stale(error):
        # A write whose row another request changed first, where no domain verb turned it into a StaleError (an
        # approval's instructor, written before its step): someone acted first, as a 409 says.
        db.session.rollback()
        return render_error(409)

    @app.errorhandler(Exception)
    def unexpected(error):
        # Never a stack trace on a page: log it, roll back, answer in Chinese.
        app.logger.exception("unhandled error")
        db.session.rollback()
        return render_error(500)
