"""`govperf up | serve | dispatch | migrate | token | seed-demo | import | export-schema |
verify-ledger`."""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

from govperf.components import SERVICES, create_app, settings_class
from services.common.auth import DEPARTMENT_BOUND, ROLES, mint_token
from services.common.settings import COMPONENTS, ComponentSettings

STARTUP_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 10.0


def _say(message: str) -> None:
    print(message, flush=True)


def cmd_migrate(args: argparse.Namespace) -> int:
    from services.common.migrate import head_revision, upgrade

    unknown = [c for c in args.components if c not in COMPONENTS]
    if unknown:
        print(
            f"govperf migrate: unknown component(s) {', '.join(unknown)}; "
            f"choose from {', '.join(COMPONENTS)}",
            file=sys.stderr,
        )
        return 2
    for component in args.components or COMPONENTS:
        settings = settings_class(component)()
        upgrade(component, settings.database_url)
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        _say(f"{component}: at {head_revision(component)} ({shown})")
    return 0


GC_YOUNG_THRESHOLD = 10_000


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    overrides = {"port": args.port} if args.port else {}
    if args.host:
        overrides["host"] = args.host
    settings = settings_class(args.component)(**overrides)
    app = create_app(args.component, settings)
    # Everything imported and built so far lives as long as the process: keep it out of the
    # garbage collector's generations, so its passes over a request's garbage stay short.
    gc.freeze()
    # And pass less often. At the default 700 the objects of 32 requests in flight (each
    # builds hundreds: models, statements, the response) set off a young collection every
    # few requests, which promotes what is still in flight and drags the older generations
    # along: 80-98 µs of collecting per rating intake request, about a tenth of its CPU.
    # At 10,000 it is 2-5 µs; what lives in cycles (little: most is freed by reference
    # counts) waits a little longer.
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )
    return 0


def cmd_dispatch(args: argparse.Namespace) -> int:
    """Only the webhook dispatcher of one service: for replicas that serve no HTTP."""
    import asyncio

    from services.common.app import lifespan_of

    settings = settings_class(args.component)(dispatcher_enabled=True)
    app = create_app(args.component, settings)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with lifespan_of(app):
            _say(f"{args.component}: dispatching webhooks; Ctrl-C stops")
            await stop.wait()

    asyncio.run(run())
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    if args.role in DEPARTMENT_BOUND and not args.department:
        print(f"govperf token: --role {args.role} needs --department", file=sys.stderr)
        return 2
    settings = ComponentSettings()
    token = mint_token(
        settings.jwt_secret.get_secret_value(),
        role=args.role,
        subject=args.subject,
        jurisdictions=args.jurisdiction or ["231100"],
        department_id=args.department,
        scopes=args.scope or [],
        ttl_seconds=args.ttl,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )
    print(token)
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    from govperf.demo import seed

    gateway = settings_class("gateway")()
    seed(args.url or f"http://{gateway.host}:{gateway.port}", log=_say)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from govperf import importer

    path = Path(args.file)
    if not path.is_file():
        print(f"govperf import: no such file {path}", file=sys.stderr)
        return 2
    try:
        fmt = importer.file_format(path, args.format)
    except ValueError as exc:
        print(f"govperf import: {exc}", file=sys.stderr)
        return 2
    settings = ComponentSettings()
    token = args.token or os.environ.get("GOVPERF_TOKEN")
    if not token:
        if settings.env == "production":
            print("govperf import: pass --token or set GOVPERF_TOKEN", file=sys.stderr)
            return 2
        token = mint_token(
            settings.jwt_secret.get_secret_value(),
            role="admin",
            subject="govperf-import",
            jurisdictions=[args.jurisdiction],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    return importer.run(
        path,
        url=(args.url or settings.indicator_url).rstrip("/"),
        token=token,
        jurisdiction=args.jurisdiction,
        fmt=fmt,
        strategy=args.strategy,
        dry_run=args.dry_run,
        atomic=not args.no_atomic,
        run_async=args.run_async,
    )


def cmd_export_schema(args: argparse.Namespace) -> int:
    from gateway.schema import build_schema

    sdl = build_schema(settings_class("gateway")()).as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl, encoding="utf-8")
    return 0


def cmd_verify_ledger(args: argparse.Namespace) -> int:
    """Verify an exported publication ledger offline: 0 valid, 1 not (the first bad entry)."""
    import json

    from services.disclosure import ledger

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
        pairs = ledger.read_export(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        _say(f"invalid: cannot read {args.file}: {exc}")
        return 1
    result = ledger.verify_chain(pairs)
    if result.valid:
        _say(f"valid: {result.entries} entries, head {ledger.head_of(pairs)}")
        return 0
    _say(f"invalid at entry {result.first_invalid_seq}: {result.reason}")
    bad = next(
        (e for e, _ in pairs if e.get("seq") == result.first_invalid_seq),
        pairs[result.entries - 1][0] if result.entries else None,
    )
    if bad is not None:
        _say(json.dumps(bad, ensure_ascii=False, sort_keys=True))
    return 1


# --- govperf up ---------------------------------------------------------------------------


def _die_with_parent() -> None:
    """Children get SIGTERM if `govperf up` itself is killed, so none is left behind."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    os.setpgrp()


class Supervisor:
    """Starts one process per component, prefixes their output, stops them all together."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.width = max(len(c) for c in COMPONENTS)

    def start(self, component: str) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "govperf", "serve", component],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        self.processes[component] = process
        threading.Thread(target=self._pump, args=(component, process), daemon=True).start()

    def _pump(self, component: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            self.lines.put((component, raw.decode(errors="replace").rstrip()))

    def flush_logs(self) -> None:
        while True:
            try:
                component, line = self.lines.get_nowait()
            except queue.Empty:
                return
            print(f"{component:<{self.width}} | {line}", flush=True)

    def dead(self) -> list[tuple[str, int]]:
        return [(c, p.returncode) for c, p in self.processes.items() if p.poll() is not None]

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        time.sleep(0.1)
        self.flush_logs()


def _wait_ready(supervisor: Supervisor, urls: dict[str, str]) -> bool:
    import httpx

    pending = dict(urls)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with httpx.Client(timeout=2.0) as client:
        while pending and time.monotonic() < deadline:
            supervisor.flush_logs()
            if supervisor.dead():
                return False
            for component, url in list(pending.items()):
                try:
                    if client.get(f"{url}/readyz").status_code == 200:
                        del pending[component]
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
    if pending:
        _say(f"!! not ready after {STARTUP_TIMEOUT_SECONDS:.0f}s: {', '.join(pending)}")
    return not pending


def cmd_up(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    settings = {c: settings_class(c)() for c in COMPONENTS}
    urls = {c: f"http://{s.host}:{s.port}" for c, s in settings.items()}
    for service in SERVICES:
        # Read by every component: the gateway's upstreams and the webhook targets.
        env.setdefault(f"GOVPERF_{service.upper()}_URL", urls[service])
    if not args.no_migrate:
        _say("== migrating databases")
        cmd_migrate(argparse.Namespace(components=list(COMPONENTS)))
    for component in COMPONENTS:
        env[f"GOVPERF_{component.upper()}_MIGRATE_ON_START"] = "false"

    supervisor = Supervisor(env)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    _say("== starting " + ", ".join(COMPONENTS))
    for component in COMPONENTS:
        supervisor.start(component)
    exit_code = 0
    try:
        if not _wait_ready(supervisor, urls):
            for component, code in supervisor.dead():
                _say(f"!! {component} exited with code {code} during start-up")
            return 1
        if args.demo:
            from govperf.demo import seed

            seed(urls["gateway"], log=_say)
        gateway = urls["gateway"]
        _say("")
        _say("== govperf is up")
        _say(f"   GraphQL        {gateway}/graphql")
        _say(f"   REST (gateway) {gateway}/api/<service>/v1/...")
        for service in SERVICES:
            _say(f"   {service:<14} {urls[service]}/docs")
        _say("   Ctrl-C stops everything.")
        _say("")
        while not stopping.is_set():
            supervisor.flush_logs()
            dead = supervisor.dead()
            if dead:
                for component, code in dead:
                    _say(f"!! {component} exited unexpectedly with code {code}; stopping all")
                exit_code = 1
                break
            stopping.wait(0.2)
    finally:
        _say("== stopping")
        supervisor.stop()
        _say("== stopped")
    return exit_code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govperf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="migrate, then run every service and the gateway")
    up.add_argument("--demo", action="store_true", help="seed a demo city (Heihe, 231100)")
    up.add_argument("--no-migrate", action="store_true", help="skip migrations")
    up.set_defaults(handler=cmd_up)

    serve = commands.add_parser("serve", help="run one component (for containers)")
    serve.add_argument("component", choices=COMPONENTS)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(handler=cmd_serve)

    dispatch = commands.add_parser(
        "dispatch", help="run only the webhook dispatcher of a service (no HTTP)"
    )
    dispatch.add_argument("component", choices=SERVICES)
    dispatch.set_defaults(handler=cmd_dispatch)

    migrate = commands.add_parser("migrate", help="bring databases to the latest schema")
    migrate.add_argument(
        "components",
        nargs="*",
        metavar="component",
        help=f"any of {', '.join(COMPONENTS)} (default: all)",
    )
    migrate.set_defaults(handler=cmd_migrate)

    token = commands.add_parser(
        "token", help="print a development JWT signed with the configured secret"
    )
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument(
        "--jurisdiction", action="append", help="division code; repeat for several (default 231100)"
    )
    token.add_argument("--department", help="department id (department, integration roles)")
    token.add_argument("--scope", action="append")
    token.add_argument("--subject")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.set_defaults(handler=cmd_token)

    demo = commands.add_parser("seed-demo", help="seed demo data through a running gateway")
    demo.add_argument("--url", help="gateway URL (default from settings)")
    demo.set_defaults(handler=cmd_seed_demo)

    imports = commands.add_parser(
        "import", help="import a measurements file (JSON, CSV or DHIS2) with a progress bar"
    )
    imports.add_argument("file")
    imports.add_argument("--jurisdiction", default="231100", help="division code (231100)")
    imports.add_argument(
        "--format", choices=("json", "csv", "dhis2"), help="default from the file's extension"
    )
    imports.add_argument(
        "--strategy",
        choices=("CREATE", "UPDATE", "CREATE_AND_UPDATE", "DELETE"),
        default="CREATE_AND_UPDATE",
    )
    imports.add_argument("--dry-run", action="store_true", help="report, write nothing")
    imports.add_argument(
        "--no-atomic", action="store_true", help="write the good rows even if some conflict"
    )
    imports.add_argument(
        "--async", dest="run_async", action="store_true", help="run as a job whatever the size"
    )
    imports.add_argument("--url", help="indicator service URL (default from settings)")
    imports.add_argument(
        "--token", help="bearer token (default $GOVPERF_TOKEN; outside production an admin one)"
    )
    imports.set_defaults(handler=cmd_import)

    schema = commands.add_parser("export-schema", help="write the gateway's GraphQL SDL")
    schema.add_argument("output", nargs="?", default="-")
    schema.set_defaults(handler=cmd_export_schema)

    verify = commands.add_parser(
        "verify-ledger",
        help="verify an exported publication ledger offline (exit 0 valid, 1 invalid)",
    )
    verify.add_argument("file", help="GET /v1/ledger/export of the disclosure service, or -")
    verify.set_defaults(handler=cmd_verify_ledger)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)
