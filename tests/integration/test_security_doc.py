"""docs/security.md's route table is the application's: every route, its authentication and
the scopes it declares. Run this file's `rows()` to print the table after adding a route."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from api.app import create_app
from infra.bootstrap import Services

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
PUBLIC = {"/api/0/", "/healthz", "/readyz", "/metrics", "/api/0/openapi.json"}
CONSOLE_PUBLIC = {"console.index", "console.login", "console.logout", "console.static"}


def rows(app: Flask) -> list[str]:
    lines = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, sorted(r.methods or ()))):
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if rule.rule.startswith("/console/"):
                auth = "none" if rule.endpoint in CONSOLE_PUBLIC else "console session"
            elif rule.rule.startswith("/api/0/relays/"):
                auth = "relay signature" if "register" not in rule.rule else "self-signed (registration)"
            elif rule.rule in PUBLIC:
                auth = "none"
            else:
                auth = "bearer token"
            scopes = ", ".join(f"`{s}`" for s in getattr(view, "required_scopes", ()) or ()) or "none"
            lines.append(f"| {method} | `{rule.rule}` | {auth} | {scopes} |")
    return lines


def test_every_route_is_in_the_security_review(services: Services) -> None:
    documented = DOC.read_text()
    missing = [row for row in rows(create_app(services)) if row not in documented]
    assert not missing, "add these rows to docs/security.md:\n" + "\n".join(missing)
