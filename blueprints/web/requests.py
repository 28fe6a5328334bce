"""The request and session classes of the app: what a request reads, and when its session cookie goes out."""
import time

from flask import Flask, Request, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.datastructures import ImmutableMultiDict

from domain.text import without_refused


class QueryValues(ImmutableMultiDict):
    """Query arguments (a search term, a filter, a link's next=) without the characters the one-line text rule
    refuses (domain/text.py), once, for every route: they have no use for them. Form values are left as they came:
    a form refuses such text with a message beside the field, rather than change it unseen."""

    def __init__(self, mapping=None):
        if isinstance(mapping, list):
            mapping = [(k, without_refused(v) if isinstance(v, str) else v) for k, v in mapping]
        super().__init__(mapping)


class CleanRequest(Request):
    parameter_storage_class = QueryValues

    def make_form_data_parser(self):
        parser = super().make_form_data_parser()
        parser.cls = ImmutableMultiDict  # form values as typed: the forms check them (domain/text.py)
        return parser


class SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, with two changes.

    - A permanent session's cookie (every login's) is renewed once SESSION_RENEW_SECONDS have passed since it
      last was, not with every answer (SESSION_REFRESH_EACH_REQUEST is off). The day still counts from the last
      request, to within those minutes; signing and compressing the session anew for every answer, and the
      browser storing it, cost a tenth of the least a logged-in request costs.
    - Static files never send it back. A browser fetches the favicon, styles and scripts alongside a page; one
      such answer arriving after the logout's would otherwise set the old session cookie again and undo the
      logout (seen in Chromium: the favicon's answer logged the user back in)."""

    RENEWED = "renewed"  # the session's key: when its cookie was last renewed, in seconds since the epoch

    def save_session(self, app: Flask, session, response) -> None:
        now = int(time.time())
        if session.permanent and now - session.get(self.RENEWED, 0) >= app.config["SESSION_RENEW_SECONDS"]:
            session[self.RENEWED] = now  # a change, so the cookie goes out with a new expiry
        super().save_session(app, session, response)

    def should_set_cookie(self, app: Flask, session) -> bool:
        return request.endpoint != "static" and super().should_set_cookie(app, session)
