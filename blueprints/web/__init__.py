"""How the app speaks HTTP around its blueprints, each part bound by create_app (app.py): what a request reads
(requests.py), the error pages (errors.py), the headers every answer carries (headers.py), the templates' filters and
globals (templating.py), and a production app's refusal of the demo accounts (demo_guard.py)."""
