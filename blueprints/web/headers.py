"""The headers every answer carries: the content security policy, no caching of anything personal, HSTS."""
from flask import Flask, request, session

from blueprints.auth import LOGIN_TOKEN

# What the app sends as a file (attachments, photos, issued PDFs, sheets, exports), with or without a
# Content-Disposition: never kept by a browser or a proxy, whoever asked for it.
DOWNLOAD_TYPES = frozenset({"application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            "text/csv", "image/png", "image/jpeg", "application/octet-stream"})


def register_security_headers(app: Flask) -> None:
    """Add the security headers to every answer of app."""
    # Scripts only from here and the one htmx file on the CDN (a path, not the whole host: anything else on
    # jsDelivr could be loaded otherwise); none from elsewhere once htmx is served locally. Inline styles stay
    # allowed for the few width bars. Picked per response: tests switch HTMX_LOCAL_ONLY on a running app.
    policies = {local_only: (
        f"default-src 'self'; script-src 'self'{'' if local_only else ' ' + app.config['HTMX_CDN_URL']}; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'") for local_only in (False, True)}
    production = app.config["ENV_NAME"] == "production"

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", policies[bool(app.config["HTMX_LOCAL_ONLY"])])
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Nothing a logged-in user sees, and no file, stays in a browser's cache or a proxy's: after the logout,
        # Back or the next user of a shared computer must not bring it up. The login is read from the cookie, not
        # the database (the user may not be loaded, or the database be down). Static files keep their caching;
        # anonymous pages (home, login, verification) hold nothing of anyone's and get no Cache-Control.
        if request.endpoint != "static" and (LOGIN_TOKEN in session or "Content-Disposition" in response.headers
                                             or response.mimetype in DOWNLOAD_TYPES):
            response.headers["Cache-Control"] = "no-store"  # replaces send_file's no-cache
        if production:  # served over HTTPS only (README, Production); development runs on plain http
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response
