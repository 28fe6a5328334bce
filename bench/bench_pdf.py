"""Approval-PDF and dossier rendering time, warm, against bare WeasyPrint in the same run.

    .venv/bin/python bench/bench_pdf.py [--runs 20]

Uses a throw-away SQLite database with one approved application. Prints median and p95 per figure,
and each figure's ratio to a one-line Chinese page rendered by bare WeasyPrint, so that the numbers
mean something on a noisy machine. Targets (issue 8): approval <= 300 ms, dossier <= 1 s; (issue 33) the signature
adds <= 50 ms to the approval, timed alone on the same render and as the signed approval against the unsigned one.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from weasyprint import HTML  # noqa: E402

from app import create_app  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float]:
    fn()  # warm: fonts loaded, templates compiled
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
                          "SIGNING_DIR": f"{tmp}/signing"})
        with app.app_context(), app.test_request_context():
            from flask_migrate import upgrade

            from seeding.demo import seed_demo
            from domain.documents import lay_out_document, render_document, render_dossier
            from domain.signing import sign
            from domain.settings import get_settings
            from models import Document, db

            upgrade()
            seed_demo()
            db.session.commit()
            document = db.session.scalar(db.select(Document).order_by(Document.id))
            settings = get_settings()
            day = document.issued_at.date()
            bare = timed(lambda: HTML(string='<p style="font-family: Noto Serif CJK SC">党组织组建</p>').write_pdf(),
                         args.runs)
            approval = timed(lambda: render_document(document, settings, day), args.runs)
            signed = timed(lambda: sign(*lay_out_document(document, settings, day)), args.runs)
            laid_out = lay_out_document(document, settings, day)
            signing = timed(lambda: sign(*laid_out), args.runs)
            dossier = timed(lambda: render_dossier(document.application), args.runs)
    print(f"{'figure':<28}{'median':>10}{'p95':>10}{'target':>10}{'ratio':>8}  pass")
    for name, (median, p95), target in [("bare WeasyPrint, one line", bare, None),
                                        ("approval 批复 PDF", approval, 0.300),
                                        ("approval 批复 PDF, signed", signed, None),
                                        ("its signature alone", signing, 0.050),
                                        ("application dossier PDF", dossier, 1.0)]:
        ratio = median / bare[0]
        verdict = "" if target is None else ("yes" if median <= target else "NO")
        print(f"{name:<28}{median * 1000:>8.0f}ms{p95 * 1000:>8.0f}ms"
              f"{'' if target is None else f'{target * 1000:.0f}ms':>10}{ratio:>7.1f}x  {verdict}")


if __name__ == "__main__":
    main()
