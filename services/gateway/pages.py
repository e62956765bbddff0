"""Server-rendered pages (Simplified Chinese) with Jinja2; autoescaped."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.wrappers import Response

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]))


def render(template: str, status: int = 200, **context) -> Response:
    return Response(_env.get_template(template).render(**context), status=status, mimetype="text/html")
