"""`make run`: the whole suite on this machine with demo departmental traffic.

bus-init → migrations → one `nameko run` process per service → demo traffic → print where to look.
Ctrl-C (or SIGTERM) stops every process cleanly: the children run in their own process groups, so the
terminal's SIGINT reaches this script only, which sends each child one SIGTERM (before, SIGINT reached the
whole group and SIGTERM followed: nameko printed "Trying to re-send() an already-triggered event" tracebacks,
issue 19). The gateway's address (ZHIFA_HTTP_ADDRESS), the broker (AMQP_URI) and the metrics ports
(ZHIFA_METRICS_PORTS) are read from the config the services run with, for the health check, the demo and the
banner.
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

    vhost = unquote(urlsplit(amqp_uri()).path[1:]) or "/"
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


def _resolve(value):
    """${VAR:default} resolved as nameko resolves it (the environment, else the default)."""
    import re

    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+):?([^}]*)\}", lambda m: os.environ.get(m.group(1), m.group(2)), value)
    return value


def config_value(key: str, default=None, config: str | None = None):
    """A key of the config the services run with (deploy/local/config.yaml unless ZHIFA_CONFIG names another)."""
    import yaml

    path = Path(config or CONFIG)
    loaded = yaml.safe_load((path if path.is_absolute() else ROOT / path).read_text(encoding="utf-8")) or {}
    value = _resolve(loaded.get(key))
    return default if value in (None, "") else value


def gateway_url(config: str | None = None) -> str:
    """Where the gateway answers: WEB_SERVER_ADDRESS (ZHIFA_HTTP_ADDRESS); 0.0.0.0 is asked on 127.0.0.1."""
    address = str(config_value("WEB_SERVER_ADDRESS", "127.0.0.1:8000", config))
    host, _, port = address.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port or 8000}"


def amqp_uri(config: str | None = None) -> str:
    return str(config_value("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/", config))


def metrics_ports(config: str | None = None) -> dict[str, int]:
    """The /metrics port of each service as configured (ZHIFA_METRICS_PORTS), else the registry's default."""
    configured = config_value("ZHIFA_METRICS_PORTS", {}, config) or {}
    from services.common.registry import RegistryError, entry

    ports = {}
    for service in SERVICES:
        try:
            ports[service] = int(configured.get(service) or entry(service).metrics_port)
        except (RegistryError, ValueError):
            continue
    return ports


PAGES = (("Public portal: decision search (公示查询)", "/"),
         ("Officer credential check (证件核验)", "/disclosure/verify"),
         ("Open data (开放数据)", "/disclosure/open-data"),
         ("Complaint form (投诉举报)", "/complaints"),
         ("Complaint status (投诉查询)", "/complaints/status"),
         ("Records check (记录核验)", "/records/verify"),
         ("Typical cases (典型案例通报)", "/disclosure/typical-cases"),
         ("Survey and evaluation card (问卷调查、评议卡, with a code)", "/evaluation/survey"),
         ("Supervisors' dashboard (监督考评, sign-in)", "/evaluation/dashboard"),
         ("Annual evaluation report (年度考评报告, sign-in)", "/evaluation/annual-report"),
         ("Security audit log (审计, sign-in)", "/audit"),
         ("OpenAPI document", "/api/v1/openapi.json"),
         ("Published decisions (JSON)", "/api/v1/public/decisions"))


def banner_pages(base: str) -> str:
    """Every page, one a line (the banner of `make run`)."""
    return "\n".join(f"  {label:<44} {base}{path}" for label, path in PAGES)


def banner_metrics(ports: dict[str, int]) -> str:
    return "\n".join(f"  Metrics of {service:<33} http://127.0.0.1:{port}/metrics" for service, port in ports.items()
                     if port)


def _oidc_setting(key: str) -> str:
    """ZHIFA_OIDC.<key> of the demo config, ${VAR:default} resolved as nameko resolves it."""
    return str((config_value("ZHIFA_OIDC", {}) or {})[key])


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
                            stderr=subprocess.STDOUT, env={**os.environ, "OIDC_CONFIG": str(path)},
                            start_new_session=True)   # Ctrl-C reaches run.py only: it stops the children
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


def _without_password(uri: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password:
        parts = parts._replace(netloc=f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else ""))
    return urlunsplit(parts)


def main() -> int:
    (ROOT / "var" / "logs").mkdir(parents=True, exist_ok=True)
    print("zhifa: declaring queues and exchanges (bus-init)…", flush=True)
    print("  " + zhifa("bus-init"))
    print("zhifa: applying migrations…", flush=True)
    print("  " + zhifa("migrate").replace("\n", "\n  "))
    zhifa("api-key", "--system", DEMO_HTTP_SYSTEM, "--region", "320404", "--body", "320404-ZHZF",
          "--key", DEMO_HTTP_KEY)
    base = gateway_url()
    demo_args = ["--api-key", f"{DEMO_HTTP_SYSTEM}={DEMO_HTTP_KEY}", *register_demo_senders(),
                 "--amqp", amqp_uri(), "--gateway", base]   # the suite's broker and vhost, the gateway's address
    # service-account tokens for scripts (capped lifetime); people sign in through the identity platform
    supervisor = zhifa("token", "--service-account", "demo-script-supervisor", "--role", "supervisor",
                       "--region", "320400", "--hours", "8")
    handler = zhifa("token", "--service-account", "demo-script-handler", "--role", "complaint_handler",
                    "--region", "320400", "--hours", "8")

    procs: list[subprocess.Popen] = []
    stopping = []

    def stop(*_):
        if stopping:            # a second Ctrl-C while stopping: the children are being stopped already
            return
        stopping.append(True)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
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
                                      cwd=ROOT, env=env(), stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))   # one SIGTERM from stop(), no SIGINT
    print(f"zhifa: started {len(SERVICES)} services (logs in var/logs/)", flush=True)
    for _ in range(120):
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        if any(p.poll() is not None for p in procs):
            print("zhifa: a service exited during start-up; see var/logs/", file=sys.stderr)
            stop()
        time.sleep(0.5)
    time.sleep(2)  # let every consumer attach
    demo = subprocess.Popen([sys.executable, str(ROOT / "deploy" / "local" / "demo.py"), "--forever",
                             "--interval", "8", *demo_args, "--token-secret-file", str(ROOT / "var" / "token_secret"),
                             "--state-file", str(ROOT / "var" / "demo-state")], cwd=ROOT, env=env(),
                            stdout=open(ROOT / "var" / "logs" / "demo.log", "a"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    procs.append(demo)
    print(f"""
zhifa is running. Where to look:
{banner_pages(base)}
{banner_metrics(metrics_ports())}
  RabbitMQ                                     {_without_password(amqp_uri())} (queues: evt-*, zhifa.dead-letter.*)
  Demo traffic log                             var/logs/demo.log

Staff sign-in (统一身份认证 stand-in, OpenID Connect): open a staff page, e.g.
  {base}/evaluation/dashboard   (supervisor)      {base}/audit   (auditor)
and sign in with one of the demo accounts (password {OIDC_DEMO_PASSWORD}):
{demo_accounts()}
Service-account tokens for scripts (8 h, the cap; `zhifa token` issues no longer ones):
  export SUPERVISOR='{supervisor}'
  export HANDLER='{handler}'
Try:
  curl -s -H "Authorization: Bearer $SUPERVISOR" '{base}/api/v1/evaluation/summary'
  curl -s -H "Authorization: Bearer $SUPERVISOR" {base}/api/v1/cases/320400-SCJG-{time.localtime().tm_year}-00001/timeline
  curl -s -H "Authorization: Bearer $HANDLER" {base}/api/v1/complaints

Ctrl-C stops everything.""", flush=True)
    while True:
        for proc in procs[:-1]:
            if proc.poll() is not None:
                print(f"zhifa: {proc.args[-1]} exited ({proc.returncode}); stopping", file=sys.stderr)
                stop()
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
