"""`make run`: the whole suite on this machine with demo departmental traffic.

bus-init → migrations → one `nameko run` process per service → demo traffic → print where to look.
Ctrl-C (or SIGTERM) stops every process cleanly.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from services.common import settings  # noqa: E402

CONFIG = str(settings.get("ZHIFA_CONFIG"))
SERVICES = ["records", "review", "disclosure", "complaints", "evaluation", "gateway"]
DEMO_HTTP_SYSTEM = "zl-zhzf-http"
DEMO_HTTP_KEY = "zf_demo_zhonglou_zhzf_key"  # demo only; real keys come from `zhifa api-key`


def zhifa(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "services.common.cli", "--config", CONFIG, *args], cwd=ROOT,
                          check=True, capture_output=True, text=True, env=env()).stdout.strip()


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def register_demo_senders() -> list[str]:
    """Every service refuses departmental events from a broker user the department registry does not
    name (SEC-2), so each demo system that publishes over AMQP gets its own broker user (created with
    rabbitmqctl on this machine) and a registry entry with that ``amqp_user``. Without rabbitmqctl
    (a broker elsewhere) the demo systems send over HTTP with API keys instead."""
    import secrets
    import shutil
    from urllib.parse import unquote, urlsplit

    sys.path.insert(0, str(ROOT / "deploy" / "local"))
    from demo import amqp_systems

    vhost = unquote(urlsplit(os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")).path[1:]) or "/"
    ctl = shutil.which("rabbitmqctl") or ("/usr/sbin/rabbitmqctl" if os.path.exists("/usr/sbin/rabbitmqctl") else None)
    args: list[str] = []
    for system, entry in amqp_systems([DEMO_HTTP_SYSTEM]).items():
        bodies = [a for body in entry["body_ids"] for a in ("--body", body)]
        if ctl is None:
            key = f"zf_demo_{secrets.token_urlsafe(12)}"
            zhifa("api-key", "--system", system, "--region", entry["region_code"], *bodies, "--key", key)
            args += ["--api-key", f"{system}={key}"]
            continue
        user, password = f"zhifa-demo-{system}", secrets.token_hex(16)
        run = lambda *a: subprocess.run([ctl, *a], capture_output=True, text=True, timeout=60)  # noqa: E731
        if run("add_user", user, password).returncode != 0:
            run("change_password", user, password)
        run("set_permissions", "-p", vhost, user, "^$", "^departments\\.events$", "^$")
        zhifa("api-key", "--system", system, "--region", entry["region_code"], *bodies, "--amqp-user", user)
        args += ["--sender", f"{system}={user}:{password}"]
    return args


OIDC_DIR = ROOT / "tools" / "oidc-provider"
OIDC_ISSUER = "http://127.0.0.1:9400"
OIDC_DEMO_PASSWORD = "zhifa-demo"


def _oidc_setting(key: str) -> str:
    """ZHIFA_OIDC.<key> of the demo config, ${VAR:default} resolved as nameko resolves it."""
    import re

    import yaml

    value = str(yaml.safe_load(Path(CONFIG).read_text(encoding="utf-8"))["ZHIFA_OIDC"][key])
    match = re.fullmatch(r"\$\{(\w+):(.*)\}", value)
    return os.environ.get(match.group(1), match.group(2)) if match else value


def start_identity_platform() -> subprocess.Popen:
    """The stand-in identity platform (tools/oidc-provider) with the gateway as its one client."""
    import json

    accounts = json.loads((OIDC_DIR / "accounts.json").read_text(encoding="utf-8"))
    config = {"issuer": OIDC_ISSUER, "port": 9400, "accounts": accounts,
              "clients": [{"client_id": _oidc_setting("client_id"), "client_secret": _oidc_setting("client_secret"),
                           "redirect_uris": [_oidc_setting("redirect_uri")]}]}
    path = ROOT / "var" / "oidc-provider.json"
    path.write_text(json.dumps(config, ensure_ascii=False))
    path.chmod(0o600)
    log = open(ROOT / "var" / "logs" / "oidc-provider.log", "a")
    proc = subprocess.Popen(["node", str(OIDC_DIR / "provider.mjs")], cwd=OIDC_DIR, stdout=log,
                            stderr=subprocess.STDOUT, env={**os.environ, "OIDC_CONFIG": str(path)})
    for _ in range(60):
        try:
            if requests.get(OIDC_ISSUER + "/.well-known/openid-configuration", timeout=1).ok:
                return proc
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    raise SystemExit("zhifa: the OpenID provider did not start (make oidc-provider; see var/logs/oidc-provider.log)")


def demo_accounts() -> str:
    import json

    accounts = json.loads((OIDC_DIR / "accounts.json").read_text(encoding="utf-8"))
    lines = []
    for login, account in accounts.items():
        if login.startswith("_"):
            continue
        claims = account["claims"]
        bodies = "、".join(claims.get("zhifa_bodies") or [])
        lines.append(f"  {login:<11} {claims.get('zhifa_role') or '（无角色：登录被拒）':<18} {claims.get('zhifa_region', '')}"
                     f"{'  ' + bodies if bodies else ''}   {claims.get('name', '')}")
    return "\n".join(lines)


def redis_status() -> str:
    import redis

    try:
        redis.Redis.from_url(settings.get("ZHIFA_REDIS_URL"), socket_timeout=1).ping()
        return "Redis answers at 127.0.0.1:6379: abuse limits and staff sessions are shared (as in production)"
    except redis.RedisError:
        return ("NO Redis at 127.0.0.1:6379: the gateway keeps abuse limits and staff sessions IN ITS OWN PROCESS "
                "(ZHIFA_REDIS_FALLBACK: local, demo only)")


def main() -> int:
    (ROOT / "var" / "logs").mkdir(parents=True, exist_ok=True)
    print("zhifa: declaring queues and exchanges (bus-init)…", flush=True)
    print("  " + zhifa("bus-init"))
    print("zhifa: applying migrations…", flush=True)
    print("  " + zhifa("migrate").replace("\n", "\n  "))
    zhifa("api-key", "--system", DEMO_HTTP_SYSTEM, "--region", "320404", "--body", "320404-ZHZF",
          "--key", DEMO_HTTP_KEY)
    demo_args = ["--api-key", f"{DEMO_HTTP_SYSTEM}={DEMO_HTTP_KEY}", *register_demo_senders(),
                 "--amqp", os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")]   # the suite's vhost
    # service-account tokens for scripts (capped lifetime); people sign in through the identity platform
    supervisor = zhifa("token", "--service-account", "demo-script-supervisor", "--role", "supervisor",
                       "--region", "320400", "--hours", "8")
    handler = zhifa("token", "--service-account", "demo-script-handler", "--role", "complaint_handler",
                    "--region", "320400", "--hours", "8")

    procs: list[subprocess.Popen] = []

    def stop(*_):
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.time() + 15
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
        print("\nzhifa: stopped.", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    procs.append(start_identity_platform())
    print(f"zhifa: identity platform stand-in (OpenID provider) at {OIDC_ISSUER} "
          f"(log var/logs/oidc-provider.log)", flush=True)
    print("zhifa: " + redis_status(), flush=True)
    nameko = str(Path(sys.executable).parent / "nameko")
    for service in SERVICES:
        log = open(ROOT / "var" / "logs" / f"{service}.log", "a")
        procs.append(subprocess.Popen([nameko, "run", "--config", CONFIG, f"services.{service}.service"],
                                      cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT))
    print(f"zhifa: started {len(SERVICES)} services (logs in var/logs/)", flush=True)
    for _ in range(120):
        try:
            if requests.get("http://127.0.0.1:8000/healthz", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        if any(p.poll() is not None for p in procs):
            print("zhifa: a service exited during start-up; see var/logs/", file=sys.stderr)
            stop()
        time.sleep(0.5)
    time.sleep(2)  # let every consumer attach
    demo = subprocess.Popen([sys.executable, str(ROOT / "deploy" / "local" / "demo.py"), "--forever",
                             "--interval", "8", *demo_args, "--token-secret-file", str(ROOT / "var" / "token_secret")], cwd=ROOT, env=env(),
                            stdout=open(ROOT / "var" / "logs" / "demo.log", "a"), stderr=subprocess.STDOUT)
    procs.append(demo)
    print(f"""
zhifa is running. Where to look:
  Public portal (公示平台)        http://127.0.0.1:8000/
  OpenAPI document               http://127.0.0.1:8000/api/v1/openapi.json
  Published decisions (JSON)     http://127.0.0.1:8000/api/v1/public/decisions
  Metrics                        http://127.0.0.1:9100/metrics (gateway) … 9101 records, 9102 review,
                                 9103 disclosure, 9104 complaints, 9105 evaluation
  RabbitMQ                       amqp://127.0.0.1:5672 (queues: evt-*, zhifa.dead-letter.*)
  Demo traffic log               var/logs/demo.log

Staff sign-in (统一身份认证 stand-in, OpenID Connect): open a staff page, e.g.
  http://127.0.0.1:8000/evaluation/dashboard   (supervisor)      http://127.0.0.1:8000/audit   (auditor)
and sign in with one of the demo accounts (password {OIDC_DEMO_PASSWORD}):
{demo_accounts()}
Service-account tokens for scripts (8 h, the cap; `zhifa token` issues no longer ones):
  export SUPERVISOR='{supervisor}'
  export HANDLER='{handler}'
Try:
  curl -s -H "Authorization: Bearer $SUPERVISOR" 'http://127.0.0.1:8000/api/v1/evaluation/summary'
  curl -s -H "Authorization: Bearer $SUPERVISOR" http://127.0.0.1:8000/api/v1/cases/320400-SCJG-{time.localtime().tm_year}-00001/timeline
  curl -s -H "Authorization: Bearer $HANDLER" http://127.0.0.1:8000/api/v1/complaints

Ctrl-C stops everything.""", flush=True)
    while True:
        for proc in procs[:-1]:
            if proc.poll() is not None:
                print(f"zhifa: {proc.args[-1]} exited ({proc.returncode}); stopping", file=sys.stderr)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
