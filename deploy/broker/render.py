#!/usr/bin/env python3
"""Render zhifa broker definitions templates into files RabbitMQ imports.

    python3 deploy/broker/render.py deploy/broker/definitions-city-320400.json \
        --secrets-dir deploy/compose/secrets --out /tmp/definitions.d/city-320400.json

The templates (deploy/broker/definitions-*.json) are RabbitMQ definitions with placeholders in strings:

- ``${hash:NAME}``  → the RabbitMQ password hash (rabbit_password_hashing_sha256: base64 of a 4-byte
  random salt followed by SHA-256(salt + password)) of the password in secret file ``NAME``;
- ``${secret:NAME}`` → the contents of secret file ``NAME`` (e.g. the shovel password inside a URI);
- ``${env:NAME}`` / ``${env:NAME:default}`` → an environment variable.

Keys starting with ``_`` (comments) are dropped. A placeholder that cannot be filled is an error:
nothing half-rendered is written. Standard library only (runs in any python3, e.g. the zhifa image).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets as random
import sys
from pathlib import Path

PLACEHOLDER = re.compile(r"\$\{(hash|secret|env):([A-Za-z0-9_.-]+)(?::([^}]*))?\}")


class RenderError(ValueError):
    pass


def rabbit_password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256 format, as ``rabbitmqctl hash_password`` prints."""
    salt = salt if salt is not None else random.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode("utf-8")).digest()).decode("ascii")


def check_password_hash(password: str, password_hash: str) -> bool:
    raw = base64.b64decode(password_hash)
    return rabbit_password_hash(password, raw[:4]) == password_hash


def read_secret(secrets_dir: Path, name: str) -> str:
    path = secrets_dir / name
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise RenderError(f"secret {name!r}: cannot read {path}: {exc.strerror}") from None
    if not value or "CHANGE-ME" in value:
        raise RenderError(f"secret {name!r} in {path} is empty or still a placeholder")
    return value


def render_string(text: str, secrets_dir: Path, env: dict) -> str:
    def replace(match: re.Match) -> str:
        kind, name, default = match.groups()
        if kind == "env":
            value = env.get(name) or default
            if value is None:
                raise RenderError(f"environment variable {name} is not set and has no default")
            return value
        value = read_secret(secrets_dir, name)
        return rabbit_password_hash(value) if kind == "hash" else value

    return PLACEHOLDER.sub(replace, text)


def render(data, secrets_dir: Path, env: dict | None = None):
    env = dict(os.environ) if env is None else env
    if isinstance(data, dict):
        return {key: render(value, secrets_dir, env) for key, value in data.items() if not key.startswith("_")}
    if isinstance(data, list):
        return [render(item, secrets_dir, env) for item in data]
    if isinstance(data, str):
        return render_string(data, secrets_dir, env)
    return data


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("templates", nargs="+", type=Path)
    parser.add_argument("--secrets-dir", type=Path, default=Path(os.environ.get("ZHIFA_SECRETS_DIR", "/run/secrets")))
    parser.add_argument("--out", type=Path, required=True,
                        help="output file (one template) or directory (one file per template)")
    args = parser.parse_args(argv)
    try:
        rendered = [(t, render(json.loads(t.read_text(encoding="utf-8")), args.secrets_dir)) for t in args.templates]
    except (RenderError, json.JSONDecodeError) as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 1
    if len(rendered) == 1 and args.out.suffix == ".json":
        targets = [(args.out, rendered[0][1])]
    else:
        args.out.mkdir(parents=True, exist_ok=True)
        targets = [(args.out / template.name, data) for template, data in rendered]
    for path, data in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.chmod(0o644)  # read by the rabbitmq user of the broker container
        os.replace(tmp, path)
        print(f"render: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
