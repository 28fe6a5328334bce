"""The application factory: `flask --app app run`, or `gunicorn 'app:create_app()'`. Nothing else lives here: the
extensions are made in extensions.py, the request, error pages, headers and template helpers in blueprints/web/."""
from typing import Any

from dotenv import load_dotenv
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import jobs
from blueprints import (
    admin, applicant, applications, auth, cli, finance, instructor, job_queue, party_orgs, public, registry, renewals,
    review, substitutes, verifications, zone,
)
from blueprints.web.demo_guard import refuse_demo_accounts
from blueprints.web.errors import register_errors
from blueprints.web.headers import register_security_headers
from blueprints.web.requests import CleanRequest, SessionInterface
from blueprints.web.templating import register_templating
from config import Config, load_config
# The modules that declare the queue's tasks, so that a consumer built by this factory knows them all.
from domain import digest, outbox, registry_import, reminders, sheets  # noqa: F401
from domain.party_orgs import projects  # noqa: F401  (its daily task)
from extensions import csrf, db, limiter, login_manager, migrate

BLUEPRINTS = (public, auth, applications, applicant, review, verifications, zone, registry, instructor, finance, admin,
              job_queue, substitutes, party_orgs, renewals, cli)


def create_app(config: str | Config | dict[str, Any] | None = None) -> Flask:
    """Build the app; config is a name (development/testing/production), a Config, or overrides."""
    load_dotenv()
    app = Flask(__name__)
    app.request_class = CleanRequest
    app.session_interface = SessionInterface()
    if isinstance(config, dict):
        base = load_config(config.get("ENV_NAME"))
        app.config.from_object(base)
        app.config.update(config)
    else:
        app.config.from_object(config if isinstance(config, Config) else load_config(config))

    if proxies := app.config.get("TRUSTED_PROXIES", 0):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    db.init_app(app)
    migrate.init_app(app, db, compare_type=True, render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    jobs.init_app(app)

    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
    register_errors(app)
    register_security_headers(app)
    register_templating(app)
    if app.config["ENV_NAME"] == "production":
        refuse_demo_accounts(app)
    return app
