"""``zhifa`` — operator commands: bus-init, migrate, token, api-key, contracts, dlq, calendar, broker-definitions, keys.

All commands read the same config file as ``nameko run`` (``--config``, default deploy/local/config.yaml).
"""
from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

import yaml

from services.common import registry, settings


def load_config(path: str | None) -> None:
    from nameko import config
    from nameko.cli.utils.config import load_config as nameko_load

    path = path or str(settings.ROOT / "deploy" / "local" / "config.yaml")
    with open(path) as handle:
        config.update(nameko_load(handle))


def cmd_bus_init(args) -> int:
    from services.common.bus import all_service_classes, declare_topology

    from services.common.federation import declare_link_side

    queues = declare_topology(settings.amqp_uri(), all_service_classes())
    side = declare_link_side(settings.amqp_uri())
    print(f"declared {len(queues)} queues on {settings.amqp_uri().rsplit('@', 1)[-1]}"
          + (f" and the {side} side of the tier links" if side else ""))
    return 0


def cmd_broker_definitions(args) -> int:
    from services.common import brokerdefs

    out = Path(args.out) if args.out else None
    existing = json.loads(out.read_text(encoding="utf-8")) if out and out.exists() else None
    cities = [c for c in (args.cities or "").split(",") if c]
    data = brokerdefs.generate(args.tier, args.region, args.name, cities, existing)
    if out:
        brokerdefs.write(out, data)
        print(f"wrote {out}")
    else:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    return 0


def cmd_migrate(args) -> int:
    from services.common.migrations import upgrade

    for service in args.services or registry.database_services():
        upgrade(service)
        print(f"{service}: migrated ({settings.database_url(service).split('@')[-1]})")
    return 0


def cmd_token(args) -> int:
    from services.common.auth import issue_token

    try:
        print(issue_token(args.service_account, args.role, args.region, hours=args.hours,
                          body_ids=tuple(args.body or ())))
    except ValueError as exc:
        print(f"zhifa token: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_api_key(args) -> int:
    from services.common.auth import api_keys_path, hash_key
    from services.common.configfile import read_yaml_mapping

    path = api_keys_path(None)
    entries = read_yaml_mapping(path, many=True) if path.exists() else []
    key = args.key or f"zf_{secrets.token_urlsafe(24)}"
    entries = [e for e in entries if e["system"] != args.system]
    entry = {"system": args.system, "region_code": args.region, "body_ids": args.body or [],
             "key_sha256": hash_key(key)}
    if args.amqp_user:
        entry["amqp_user"] = args.amqp_user   # its RabbitMQ user, when it publishes over AMQP
    entries.append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(entries, allow_unicode=True))
    print(key)
    return 0


def cmd_contracts(args) -> int:
    from services.common.contracts import CONTRACTS_DIR, export

    for path in export(Path(args.out) if args.out else CONTRACTS_DIR):
        print(path)
    return 0


def cmd_dlq(args) -> int:
    from services.common import deadletters

    if args.action == "list":
        for item in deadletters.peek(settings.amqp_uri(), args.service, args.limit):
            print(json.dumps(item, ensure_ascii=False))
    else:
        report = deadletters.replay(settings.amqp_uri(), args.service, args.limit)
        print(f"replayed {report.replayed} dead letters of {args.service}"
              + (f"; left {report.kept} that must not be replayed (unauthorised sender, no queue)" if report.kept else "")
              + (f"; left {report.unroutable} whose queue no longer exists" if report.unroutable else ""))
    return 0


def cmd_docs(args) -> int:
    from services.common.docs import ARCHITECTURE, SETTINGS, update, update_settings

    print(f"{ARCHITECTURE}: {'updated' if update() else 'already current'}")
    print(f"{SETTINGS}: {'updated' if update_settings() else 'already current'}")
    return 0


def cmd_calendar(args) -> int:
    from services.common.workdays import default_calendar

    cal = default_calendar()
    print(f"calendar version {cal.version}; years known: {min(cal.known_years)}–{max(cal.known_years)}")
    return 0


def encrypted_services(names=None) -> dict:
    """Services whose models declare ``ENCRYPTED_COLUMNS`` (issue 22), found through the registry; an empty
    list: the service keeps only a keyed blind index, it needs its keyring all the same."""
    out = {}
    for service in registry.database_services():
        if names and service not in names:
            continue
        columns = getattr(registry.entry(service).models_module(), "ENCRYPTED_COLUMNS", None)
        if columns is not None:         # [] : keys for a keyed index only (evaluation)
            out[service] = columns
    unknown = set(names or ()) - set(out)
    if unknown:
        raise SystemExit(f"zhifa keys: no encrypted fields in {', '.join(sorted(unknown))}")
    return out


def cmd_keys(args) -> int:
    """Field-encryption keys (issue 22, services/common/fieldcrypt.py; docs/RUNBOOK.md#field-encryption-keys)."""
    from services.common import fieldcrypt
    from services.common.db import make_engine

    services = encrypted_services(args.service)
    if args.action == "create":
        for service in services:
            doc = fieldcrypt.create(service)
            print(f"{service}: keyring {fieldcrypt.keyring_path(service)} (active data key {doc['active']})")
        return 0
    if args.action == "rotate":
        if args.kek:
            present = [s for s in services if fieldcrypt.keyring_path(s).exists()]
            kek = fieldcrypt.rotate_kek(present)
            print(f"new key-encryption key {kek}; re-wrapped the keyrings of {', '.join(present) or 'no service'} "
                  "(no field touched)")
            return 0
        for service in services:
            print(f"{service}: new active data key {fieldcrypt.rotate(service)}; older values stay readable and "
                  "move to it in the background (zhifa keys status shows what remains)")
        return 0
    rc = 0
    for service, columns in services.items():
        engine = make_engine(settings.database_url(service), pool_size=1)
        try:
            if args.action == "reencrypt":
                moved = 0
                while True:
                    step = fieldcrypt.reencrypt_step(engine, service, columns, batch=args.batch)
                    moved += step
                    if not step:
                        break
                    print(f"{service}: {moved} fields moved, {fieldcrypt.remaining(engine, service, columns)} remaining",
                          flush=True)
                left = fieldcrypt.remaining(engine, service, columns)
                print(f"{service}: re-encrypt done ({moved} moved, {left} remaining)")
                rc = rc or (1 if left else 0)
            elif args.action == "drop-retired":
                print(f"{service}: dropped {fieldcrypt.drop_retired(service, engine, columns) or 'none'}")
            else:
                state = fieldcrypt.status(service, engine, columns)
                if args.json:
                    print(json.dumps(state, ensure_ascii=False))
                elif not state["exists"]:
                    print(f"{service}: no keyring yet ({state['keyring']}); `zhifa keys create`")
                else:
                    print(f"{service}: active {state['active']}, data keys {', '.join(state['data_keys'])}, wrapped by "
                          f"{', '.join(state['keks'])} (current KEK {state['current_kek']}); fields by key "
                          f"{state['fields_by_key']}; {state['remaining']} not under the active key")
        finally:
            engine.dispose()
    return rc


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    config_path = argv[1] if argv[:1] == ["--config"] and len(argv) > 1 else None
    words = argv[2:] if config_path else argv
    offered = {e.name: e for e in registry.entries() if e.commands}
    if len(words) >= 2 and words[0] in offered and words[1] in offered[words[0]].commands:
        # `zhifa [--config F] <service> <command> …`: a service's own command (e.g. records verify: recompute
        # the records log and name the first tampered entry), found through the registry
        load_config(config_path)
        return offered[words[0]].command(words[1])(words[2:])
    parser = argparse.ArgumentParser(prog="zhifa", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="nameko config YAML (default deploy/local/config.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bus-init", help="declare exchanges and durable queues before any publisher runs")
    p = sub.add_parser("migrate", help="apply Alembic migrations of each service's database")
    p.add_argument("services", nargs="*")
    p = sub.add_parser("token", help="issue a service account's token (capped lifetime; staff sign in with OIDC)")
    p.add_argument("--service-account", "--sub", dest="service_account", required=True,
                   help="the service account (a script or integration, not a person)")
    p.add_argument("--role", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--hours", type=float, default=1.0, help="lifetime, at most ZHIFA_TOKEN_MAX_HOURS (default 8)")
    p.add_argument("--body", action="append", help="a body the holder acts for (repeat); '*' for every body of "
                                                  "the region. Officers, legal reviewers and responsible persons "
                                                  "without --body act for no body (SEC-2)")
    p = sub.add_parser("api-key", help="create (or replace) a departmental system's API key; prints the key")
    p.add_argument("--system", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--body", action="append", help="a body the system speaks for (repeat); '*' for every body of "
                                                  "the region. Without --body the key acts for no body (SEC-2)")
    p.add_argument("--key", help="use this key instead of a random one (demo only)")
    p.add_argument("--amqp-user", help="the system's RabbitMQ user, if it also publishes over AMQP "
                                       "(its events are then checked against this entry)")
    p = sub.add_parser("contracts", help="export JSON Schema and AsyncAPI documents to docs/contracts")
    p.add_argument("--out")
    p = sub.add_parser("dlq", help="list or replay a service's dead-letter queue")
    p.add_argument("action", choices=("list", "replay"))
    p.add_argument("--service", required=True)
    p.add_argument("--limit", type=int, default=100)
    p = sub.add_parser("broker-definitions", help="write a suite's RabbitMQ definitions template "
                                                  "(deploy/broker; keeps departmental users of an existing file)")
    p.add_argument("--tier", choices=("city", "province"), required=True)
    p.add_argument("--region", required=True, help="the suite's region code, e.g. 320400")
    p.add_argument("--name", required=True, help="its name, e.g. 常州市")
    p.add_argument("--cities", help="province: the linked cities, comma-separated (320400,320200)")
    p.add_argument("--out", help="the template file to write (default: print)")
    sub.add_parser("calendar", help="show the working-day calendar in force")
    p = sub.add_parser("keys", help="field-encryption keys (SM4-GCM, issue 22): create, rotate (a data key, or "
                                    "--kek), status, reencrypt (now, instead of the background timer), drop-retired")
    p.add_argument("action", choices=("create", "rotate", "status", "reencrypt", "drop-retired"))
    p.add_argument("--service", action="append", help="one service (repeat); default: every service with "
                                                      "encrypted fields")
    p.add_argument("--kek", action="store_true", help="rotate: a new key-encryption key, keyrings re-wrapped")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--json", action="store_true")
    sub.add_parser("docs", help="regenerate the event table in docs/ARCHITECTURE.md and docs/SETTINGS.md")
    for service in (e for e in registry.entries() if e.commands):
        # parsed above (before argparse) so a command keeps its own options; listed here for --help
        sub.add_parser(service.name, help=" | ".join(f"`zhifa {service.name} {c} …`" for c in service.commands))
    args = parser.parse_args(argv)
    load_config(args.config)
    return {"bus-init": cmd_bus_init, "migrate": cmd_migrate, "token": cmd_token, "api-key": cmd_api_key,
            "contracts": cmd_contracts, "dlq": cmd_dlq, "calendar": cmd_calendar,
            "broker-definitions": cmd_broker_definitions, "keys": cmd_keys,
            "docs": cmd_docs}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
