"""The `homesafe` command: serve, worker, demo, audit, keys and Django's management commands."""

from __future__ import annotations

import argparse
import os
import sys
import threading


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def _serve(args: argparse.Namespace) -> int:
    _setup()
    import uvicorn
    from django.conf import settings
    from django.core.management import call_command

    from homesafe.accounts.models import Organisation
    from homesafe.demo import DEMO_ORG_SLUG, DEMO_PASSWORD, demo_logins

    call_command("migrate", interactive=False, verbosity=0)
    if not Organisation.objects.exists() and not settings.PRODUCTION:
        print("Empty database: seeding the Wellington demo data (takes a few seconds)...")
        call_command("demo", verbosity=0)
    url = f"http://{args.host if ':' not in args.host else f'[{args.host}]'}:{args.port}/"
    print(f"\nhomesafe {settings.HOMESAFE_VERSION} on {url}")
    print(f"data directory: {settings.DATA_DIR}")
    if not settings.PRODUCTION and Organisation.objects.filter(slug=DEMO_ORG_SLUG).exists():
        print(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for role, email in demo_logins():
            print(f"  {role:<16} {email}")
        print("Staff and volunteers need a second factor:")
        print("`homesafe demo-otp EMAIL` prints a current code.\n")
    sys.stdout.flush()
    # The embedded default runs the background loops (alerts, deadlines, retention) in this
    # process; production runs them in `homesafe worker` processes instead.
    stop_loops = threading.Event()
    loops = None
    if settings.EMBEDDED_LOOPS:
        from homesafe.common.loops import run_loops

        loops = threading.Thread(
            target=run_loops,
            kwargs={"stop_event": stop_loops, "join_timeout": 30},
            name="homesafe-loops",
            daemon=True,
        )
        loops.start()
    try:
        uvicorn.run(
            "config.asgi:application",
            host=args.host,
            port=args.port,
            proxy_headers=bool(settings.TRUSTED_PROXY_COUNT),
            forwarded_allow_ips="*" if settings.TRUSTED_PROXY_COUNT else None,
            lifespan="off",
            access_log=False,  # paths are safe, but query strings of the API docs are noise
            log_level="info",
        )
    finally:
        stop_loops.set()
        if loops is not None:
            loops.join(timeout=35)
    return 0


def _manage(argv: list[str]) -> int:
    _setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["homesafe manage", *argv])
    return 0


def _verify_offline(args: argparse.Namespace) -> int:
    """No Django, no database: only the file, the receipt (or proof) and the public key."""
    from pathlib import Path

    from homesafe.evidence import verify

    try:
        if args.command == "verify":
            doc = verify.load_json(Path(args.receipt))
            problems = verify.verify_receipt(Path(args.file), doc, public_key=args.public_key)
        else:
            doc = verify.load_json(Path(args.proof))
            problems = verify.verify_consistency_document(doc, public_key=args.public_key)
    except (OSError, ValueError) as exc:
        print(f"cannot read input: {exc}", file=sys.stderr)
        return 2
    if problems:
        for problem in problems:
            print(f"FAIL: {problem}")
        return 1
    if args.command == "verify":
        print(
            f"OK: sha256 {doc['sha256']}, {doc['size']} bytes, leaf {doc['leaf_index']} of a "
            f"log of {doc['tree_size']}, tree head signed by key {doc['tree_head']['key_id'][:16]}"
        )
    else:
        print(
            f"OK: the log of {doc['new']['tree_size']} entries extends the log of "
            f"{doc['old']['tree_size']} entries unchanged"
        )
    return 0


def _verify_log() -> int:
    _setup()
    from homesafe.evidence.services import log_verify

    result = log_verify()
    for problem in result.problems:
        print(f"FAIL: {problem}")
    if result.ok:
        print(f"OK: {result.leaves} evidence log entries and their signed tree heads check out")
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="homesafe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate, seed demo data if empty, and serve")
    serve.add_argument("--host", default=os.environ.get("HOMESAFE_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("HOMESAFE_PORT", "8000")))
    worker = sub.add_parser("worker", help="run the background loops until SIGTERM/SIGINT")
    worker.add_argument("--loops", default="", help="comma-separated loop names (default: all)")
    sub.add_parser("demo", help="(re)seed the Wellington demo data")
    otp = sub.add_parser("demo-otp", help="print a current second-factor code of a demo account")
    otp.add_argument("email")
    audit = sub.add_parser("audit", help="audit log tools")
    audit.add_argument("action", choices=["verify"])
    keys = sub.add_parser("keys", help="encryption key tools")
    keys.add_argument("action", choices=["rotate", "status"])
    verify = sub.add_parser(
        "verify", help="check an evidence file against its receipt (offline)"
    )
    verify.add_argument("file")
    verify.add_argument("receipt")
    verify.add_argument("--public-key", help="the log's Ed25519 public key (base64) you trust")
    consistency = sub.add_parser(
        "verify-consistency",
        help="check an evidence-log consistency proof between two signed tree heads (offline)",
    )
    consistency.add_argument("proof", help="JSON from GET /api/evidence/log/consistency")
    consistency.add_argument("--public-key", help="the log's Ed25519 public key (base64) you trust")
    sub.add_parser("verify-log", help="recheck the whole evidence log against the database")
    sub.add_parser("manage", help="Django management commands", add_help=False)

    if argv and argv[0] == "manage":
        return _manage(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "worker":
        return _manage(["worker", *(["--loops", args.loops] if args.loops else [])])
    if args.command == "demo":
        return _manage(["demo"])
    if args.command == "demo-otp":
        return _manage(["demo", "--otp", args.email])
    if args.command == "audit":
        return _manage(["audit", args.action])
    if args.command == "keys":
        return _manage(["keys", args.action])
    if args.command in ("verify", "verify-consistency"):
        return _verify_offline(args)
    if args.command == "verify-log":
        return _verify_log()
    parser.error("unknown command")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
