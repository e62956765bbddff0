"""Server-rendered pages (Simplified Chinese) with Jinja2; autoescaped. No inline script or
<style> (CSP, edge.py): scripts and style sheets are files under services/gateway/static/."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Response

from services.gateway.edge import csrf_token

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]))
_env.globals["csrf_token"] = csrf_token   # every state-changing form carries it (SEC-5, edge.py)


def render(template: str, status: int = 200, **context) -> Response:
    return Response(_env.get_template(template).render(**context), status=status, mimetype="text/html")
