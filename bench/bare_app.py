"""The same-run baseline: a bare Flask app whose one route renders a static 50-row Jinja table.

Used in-process by bench/run.py (test client) and under gunicorn by bench/load.py (`bench.bare_app:app`),
so every page figure can be read as a ratio to "Flask and Jinja doing nothing" on this machine, now.
"""
from flask import Flask, render_template_string

ROWS = [{"id": i, "name": f"开发区示范企业{i}有限公司", "unit": "工业园区", "state": "已成立"} for i in range(50)]
TEMPLATE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>基准</title></head><body>
<table><thead><tr><th>编号</th><th>名称</th><th>初审单位</th><th>状态</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{{ r.id }}</td><td>{{ r.name }}</td><td>{{ r.unit }}</td><td>{{ r.state }}</td></tr>
{% endfor %}</tbody></table></body></html>"""

app = Flask(__name__)


@app.get("/bare")
def bare():
    return render_template_string(TEMPLATE, rows=ROWS)
