"""`make bench`: partnerdesk under its production server, driven by wrk, on SQLite and on
PostgreSQL, beside django-helpdesk 2.6; prints one markdown table per database, each
figure beside its target, and under it the list of targets, each met or missed.

Every figure is measured in this run on this machine; ratios compare figures of one run,
and every target is judged from this run's own figures. Nothing here is a pass/fail test.
The dataset comes from bench/generate_dataset.py (a development tool, not installed)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
WORK = ROOT / "var" / "bench"
PG = "postgres://postgres@127.0.0.1:5432"
SERVER = "gunicorn"
OPERATOR = "operator@bench.example"
SIZES = ("small", "large")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PARTNERDESK_LANGUAGE": "en",
        # Plain HTTP on loopback: no redirect to https in front of every request.
        "PARTNERDESK_HTTPS": "0",
    }


def partnerdesk(env: dict, *args: str) -> str:
    done = subprocess.run(
        [str(VENV / "partnerdesk"), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"partnerdesk {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def generate_dataset(
    env: dict, *, start: int, organizations: int, requests: int, writers: int, tokens=None
) -> dict[str, str]:
    """bench/generate_dataset.py; returns the product ids the wrk scripts need."""
    argv = [
        str(VENV / "python"),
        str(ROOT / "bench" / "generate_dataset.py"),
        f"--start={start}",
        f"--organizations={organizations}",
        f"--requests={requests}",
        f"--writers={writers}",
        *([f"--tokens-file={tokens}"] if tokens else []),
    ]
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"bench/generate_dataset.py failed:\n{done.stderr}")
    summary = done.stdout.strip().splitlines()[-1]
    found = re.search(r"on-premises (\d+), cloud (\d+)", summary)
    if not found:
        raise SystemExit(f"bench/generate_dataset.py printed no product ids: {summary}")
    log(summary)
    return {"PRODUCT_ONPREM": found[1], "PRODUCT_CLOUD": found[2]}


def create_operator(env: dict) -> str:
    """A program operator (Django staff, sees every organization's requests); its token."""
    password = {"DJANGO_SUPERUSER_PASSWORD": "bench-operator-password-not-a-secret"}
    partnerdesk({**env, **password}, "createsuperuser", "--noinput", f"--email={OPERATOR}")
    return partnerdesk(env, "createtoken", OPERATOR, "--name=bench").strip().splitlines()[-1]


SERVERS = {
    # 2 sync workers (one per core); persistent database connections come from settings.
    "gunicorn": [
        str(VENV / "gunicorn"),
        "--config=python:partnerdesk.core.gunicorn_conf",
        "partnerdesk.wsgi",
        "--bind=127.0.0.1:{port}",
        "--workers=2",
        "--log-level=warning",
    ],
    "granian": [
        str(VENV / "granian"),
        "--interface=wsgi",
        "--host=127.0.0.1",
        "--port={port}",
        "--workers=2",
        "--log-level=warning",
        "partnerdesk.wsgi:application",
    ],
}


class Server:
    def __init__(self, env: dict, argv: list[str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = argv or SERVERS[SERVER]
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.process = subprocess.Popen(argv, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/", timeout=1)
                return
            except OSError as error:
                if getattr(error, "code", None):  # an HTTP status: it is up
                    return
                time.sleep(0.2)
        raise SystemExit("the server did not start")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def wrk(url: str, script: str, seconds: int, connections: int, **env: str) -> dict:
    done = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", f"bench/wrk/{script}", url],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    if report["non2xx"] or report["socket_errors"]:
        log(
            f"{script}: {report['non2xx']} non-2xx answers, {report['socket_errors']} socket errors"
        )
    return report


def fresh_database(kind: str, name: str) -> str:
    if kind == "sqlite":
        path = WORK / f"{name}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    subprocess.run(
        [
            str(VENV / "python"),
            "-c",
            "import psycopg,sys; c=psycopg.connect(sys.argv[1], autocommit=True);"
            "c.execute(f'DROP DATABASE IF EXISTS {sys.argv[2]} WITH (FORCE)');"
            "c.execute(f'CREATE DATABASE {sys.argv[2]}')",
            f"{PG}/postgres",
            name,
        ],
        check=True,
    )
    return f"{PG}/{name}"


def sizes(args) -> dict[str, dict]:
    """What each step stores: the small dataset, then grown to the large one."""
    return {
        "small": {"organizations": args.small_organizations, "requests": args.small_requests},
        "large": {"organizations": args.organizations, "requests": args.requests},
    }


def measure(kind: str, args) -> dict:
    results: dict = {"sizes": sizes(args)}
    env = environment(fresh_database(kind, "partnerdesk_bench"))
    partnerdesk(env, "migrate", "--noinput")
    operator = {"OPERATOR_TOKEN": create_operator(env)}
    tokens = WORK / "tokens.txt"
    load = {"TOKENS_FILE": str(tokens)}
    stored = {"organizations": 0, "requests": 0}
    for label in SIZES:
        target = results["sizes"][label]
        organizations = target["organizations"] - stored["organizations"]
        requests = target["requests"] - stored["requests"]
        log(f"{kind}: generating {organizations:,} organizations, {requests:,} requests")
        began = time.monotonic()
        load.update(
            generate_dataset(
                env,
                start=stored["organizations"],
                organizations=organizations,
                requests=requests,
                writers=args.writers if label == "small" else 0,
                tokens=tokens if label == "small" else None,
            )
        )
        results[f"generate_{label}_s"] = time.monotonic() - began
        stored = dict(target)
        with Server(env) as server:
            if label == "small":
                results["floor"] = wrk(server.url, "floor.lua", args.seconds, args.connections)
            results[f"benefits_{label}"] = wrk(
                server.url, "benefits.lua", args.seconds, args.connections, **load
            )
            results[f"operator_{label}"] = wrk(
                server.url, "operator_list.lua", args.seconds, args.connections, **operator
            )
            results[f"create_{label}"] = wrk(
                server.url, "create.lua", args.seconds, args.connections, **load
            )
        results[f"ledger_export_{label}"] = export_ledger(env, label)
    check = subprocess.run(
        [str(VENV / "partnerdesk"), "reconcile"], env=env, capture_output=True, text=True
    )
    results["reconcile"] = (check.stdout or check.stderr).strip().splitlines()[-1]
    results["export"] = export_requests(env)
    results["import"] = import_organizations(kind, args.import_organizations)
    results["peer"] = helpdesk(kind, args)
    return results


EXPORT_SCRIPT = """
import sys, django
django.setup()
from partnerdesk.accounts.models import User
from partnerdesk.support.export import export_lines
from partnerdesk.support.finding import RequestFilters
operator = User.objects.get(email=sys.argv[1])
size = rows = 0
for piece in export_lines(user=operator, filters=RequestFilters()):
    size += len(piece.encode())
    rows += piece.count("\\n")
print(rows - 1, size)
"""


def export_requests(env: dict) -> dict:
    """The operator's CSV export of every request (support.export, the generator the
    streamed answer sends), in a process of its own: its peak memory and time."""
    began = time.monotonic()
    process = subprocess.Popen(
        [str(VENV / "python"), "-c", EXPORT_SCRIPT, OPERATOR],
        env={**env, "DJANGO_SETTINGS_MODULE": "partnerdesk.settings"},
        stdout=subprocess.PIPE,
        text=True,
    )
    output = process.stdout.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit("the export failed")
    rows, size = (int(n) for n in output.split())
    return {
        "rows": rows,
        "mb": size / 1e6,
        "seconds": time.monotonic() - began,
        "peak_mb": usage.ru_maxrss * 1024 / 1e6,
    }


def export_ledger(env: dict, label: str) -> dict:
    """`partnerdesk export-ledger` (every organization's ledger, the operators' export) in
    a process of its own, writing its file: its peak memory (from ``wait4``, that process
    alone) and time, and the rows it wrote."""
    output = WORK / f"ledger-{label}.csv"
    began = time.monotonic()
    process = subprocess.Popen(
        [str(VENV / "partnerdesk"), "export-ledger", f"--output={output}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors = process.stderr.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - began
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"export-ledger failed:\n{errors}")
    with output.open(encoding="utf-8", newline="") as written:
        rows = sum(1 for _line in written) - 1  # no cell holds a line break
    size = output.stat().st_size
    output.unlink()
    peak_mb = usage.ru_maxrss * 1024 / 1e6  # kilobytes on Linux
    log(f"ledger export: {rows:,} rows in {seconds:.1f} s, peak {peak_mb:.0f} MB")
    return {"rows": rows, "mb": size / 1e6, "seconds": seconds, "peak_mb": peak_mb}


def ledger_export_steps(kind: str, args) -> dict:
    """Only the ledger export, at two sizes of one database: ``--ledger-rows`` (small,
    large) ledger entries, each organization's two grants and its requests' charges."""
    env = environment(fresh_database(kind, args.ledger_database))
    partnerdesk(env, "migrate", "--noinput")
    results: dict = {}
    stored = {"organizations": 0, "requests": 0}
    for label, rows in zip(SIZES, args.ledger_rows, strict=True):
        # 8 requests an organization, all charged: 10 ledger entries an organization.
        organizations = rows // 10 - stored["organizations"]
        requests = organizations * 8
        log(f"{kind}: generating {organizations:,} organizations, {requests:,} requests")
        began = time.monotonic()
        generate_dataset(
            env,
            start=stored["organizations"],
            organizations=organizations,
            requests=requests,
            writers=0,
        )
        results[f"generate_{label}_s"] = time.monotonic() - began
        stored = {
            "organizations": stored["organizations"] + organizations,
            "requests": stored["requests"] + requests,
        }
        results[f"ledger_export_{label}"] = export_ledger(env, label)
    return results


def ledger_export_lines(r: dict) -> list[str]:
    """The export's figures at both sizes, and whether its memory stayed flat."""
    small, large = r.get("ledger_export_small"), r.get("ledger_export_large")
    if not (small and large):
        return []
    growth = _change(small["peak_mb"], large["peak_mb"])
    flat = growth <= 0.10
    return [
        "\n| ledger export (`partnerdesk export-ledger`) | rows | MB written | s | peak MB |",
        "|---|---|---|---|---|",
        *(
            f"| {label} | {e['rows']:,} | {e['mb']:.0f} | {e['seconds']:.1f} | {e['peak_mb']:.0f} |"
            for label, e in (("small", small), ("large", large))
        ),
        f"\n- ledger export: peak memory at {large['rows']:,} rows within 10 % of "
        f"{small['rows']:,} rows': {growth:+.0%} — {'met' if flat else '**missed**'}",
        f"- … and < 300 MB: {large['peak_mb']:.0f} MB — "
        f"{'met' if large['peak_mb'] < 300 else '**missed**'}",
    ]


def import_organizations(kind: str, count: int) -> dict:
    env = environment(fresh_database(kind, "partnerdesk_import"))
    partnerdesk(env, "migrate", "--noinput")
    path = WORK / f"import-{count}.json"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench/make_import_file.py"), str(count), str(path)],
            check=True,
        )
    log(f"{kind}: importing {count} organizations")
    output = WORK / f"import-{kind}.log"
    with output.open("w") as out:
        began = time.monotonic()
        process = subprocess.Popen(
            [str(VENV / "partnerdesk"), "import-partners", str(path), "--no-progress"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        # wait4: the rusage of this child alone (RUSAGE_CHILDREN would be the largest of
        # every child so far, the dataset generator's included).
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"import failed:\n{output.read_text()}")
    peak_bytes = usage.ru_maxrss * 1024  # kilobytes on Linux
    return {"organizations": count, "seconds": seconds, "peak_mb": peak_bytes / 1e6}


def helpdesk(kind: str, args) -> dict:
    home = ROOT / "var" / "helpdesk"
    url = f"sqlite:///{home}/peer.sqlite3" if kind == "sqlite" else f"{PG}/helpdesk_bench"
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{home}/peer.sqlite3{suffix}").unlink(missing_ok=True)
    else:
        fresh_database("postgres", "helpdesk_bench")
    peer = [sys.executable, str(ROOT / "bench/helpdesk/peer.py")]
    log(f"{kind}: preparing django-helpdesk")
    prepared = json.loads(
        subprocess.run(
            [*peer, "prepare", "--home", str(home), "--db-url", url],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    serve = [
        *peer,
        "serve",
        "--home",
        str(home),
        "--db-url",
        url,
        "--port",
        "{port}",
        "--workers",
        "2",
        "--threads",
        "1",
    ]
    with Server(dict(os.environ), serve) as server:
        return wrk(
            server.url,
            "helpdesk_create.lua",
            args.seconds,
            args.connections,
            PEER_AUTHORIZATION=prepared["authorization"],
            PEER_QUEUE_ID=str(prepared["queue_id"]),
            PEER_CREATE_PATH=prepared["create_path"],
        )


def compare_servers(args) -> str:
    """The server choice, measured: floor and request creation on SQLite under each."""
    global SERVER
    env = environment(fresh_database("sqlite", "partnerdesk_servers"))
    partnerdesk(env, "migrate", "--noinput")
    tokens = WORK / "tokens-servers.txt"
    load = {
        "TOKENS_FILE": str(tokens),
        **generate_dataset(
            env,
            start=0,
            organizations=1000,
            requests=10_000,
            writers=args.writers,
            tokens=tokens,
        ),
    }
    lines = [
        "| server | floor req/s | floor p99 ms | create req/s | create p99 ms |",
        "|---|---|---|---|---|",
    ]
    for name in SERVERS:
        SERVER = name
        with Server(env) as server:
            floor = wrk(server.url, "floor.lua", args.seconds, args.connections)
            create = wrk(server.url, "create.lua", args.seconds, args.connections, **load)
        lines.append(
            f"| {name}, 2 workers | {floor['rps']:,.0f} | {floor['p99_us'] / 1000:.1f} | "
            f"{create['rps']:,.0f} | {create['p99_us'] / 1000:.1f} |"
        )
    SERVER = "gunicorn"
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    """One target, judged from this run's own figures; ``row`` is the table row it is
    printed beside (None: the import line)."""

    short: str  # beside the figure
    text: str  # in the list under the table
    figure: str
    met: bool
    row: str | None

    def mark(self) -> str:
        return "met" if self.met else "**missed**"


def _shown(value: float, digits: int, threshold: float) -> str:
    """``value`` as the table rounds it, with more digits where that rounding would land
    on the target's threshold (0.498 is not "0.50" against "≥ 0.5")."""
    shown = f"{value:.{digits}f}"
    while float(shown) == threshold and value != threshold and digits < 6:
        digits += 1
        shown = f"{value:.{digits}f}"
    return shown


def _change(small: float, large: float) -> float:
    return (large - small) / small if small else 0.0


def targets(kind: str, r: dict) -> list[Target]:
    floor, peer, imp = r["floor"], r["peer"], r["import"]
    found: list[Target] = []
    for label in SIZES:
        create, benefits = r[f"create_{label}"], r[f"benefits_{label}"]
        where = f"at {r['sizes'][label]['requests']:,} requests"
        versus_peer = create["rps"] / peer["rps"]
        found.append(
            Target(
                "≥ 3× helpdesk",
                f"opening a request ≥ 3× django-helpdesk ticket creation, {where}",
                f"{_shown(versus_peer, 1, 3)}×",
                versus_peer >= 3,
                f"create_{label}",
            )
        )
        if kind == "sqlite":
            of_floor = create["rps"] / floor["rps"]
            aim = "reached" if of_floor >= 0.5 else "not yet"
            found.append(
                Target(
                    "≥ 0.25 of floor (aim 0.5)",
                    f"opening a request ≥ 0.25 of the floor, {where} (aim 0.5: {aim})",
                    _shown(of_floor, 2, 0.25),
                    of_floor >= 0.25,
                    f"create_{label}",
                )
            )
        of_floor = benefits["rps"] / floor["rps"]
        found.append(
            Target(
                "≥ 0.5 of floor",
                f"GET /api/v1/benefits ≥ 0.5 of the floor, {where}",
                _shown(of_floor, 2, 0.5),
                of_floor >= 0.5,
                f"benefits_{label}",
            )
        )
    large = f"at {r['sizes']['large']['requests']:,} requests"
    for name, scenario, limit in (
        ("GET /api/v1/benefits", "benefits", 15),
        ("the operator's GET /api/v1/support-requests?limit=50", "operator", 25),
    ):
        p99 = r[f"{scenario}_large"]["p99_us"] / 1000
        found.append(
            Target(
                f"p99 < {limit} ms",
                f"{name}: p99 < {limit} ms {large}",
                f"{_shown(p99, 1, limit)} ms",
                p99 < limit,
                f"{scenario}_large",
            )
        )
    found += [
        Target(
            "< 30 s",
            f"import-partners of {imp['organizations']:,} organizations in < 30 s",
            f"{_shown(imp['seconds'], 1, 30)} s",
            imp["seconds"] < 30,
            None,
        ),
        Target(
            "< 300 MB peak",
            "… with peak memory < 300 MB",
            f"{_shown(imp['peak_mb'], 0, 300)} MB",
            imp["peak_mb"] < 300,
            None,
        ),
    ]
    export = r.get("export")
    if export:
        found.append(
            Target(
                "< 300 MB peak",
                f"CSV export of {export['rows']:,} requests with peak memory < 300 MB",
                f"{_shown(export['peak_mb'], 0, 300)} MB ({export['seconds']:.0f} s)",
                export["peak_mb"] < 300,
                None,
            )
        )
    # Throughput may not drop, latency may not grow, by more than 10 %.
    worse = []
    for scenario in ("create", "benefits", "operator"):
        small, grown = r[f"{scenario}_small"], r[f"{scenario}_large"]
        changes = {  # large against small: req/s should not fall, latency not rise
            "req/s": _change(small["rps"], grown["rps"]),
            "p50": _change(small["p50_us"], grown["p50_us"]),
            "p99": _change(small["p99_us"], grown["p99_us"]),
        }
        bad = [
            f"{scenario} {figure} {change:+.0%}"
            for figure, change in changes.items()
            if (-change if figure == "req/s" else change) > 0.10
        ]
        worse += bad
        found.append(
            Target(
                "≤ 10 % worse than the small size",
                "",
                ", ".join(f"{figure} {change:+.0%}" for figure, change in changes.items()),
                not bad,
                f"{scenario}_large",
            )
        )
    found.append(
        Target(
            "",
            f"no figure worse by more than 10 % from {r['sizes']['small']['requests']:,} to "
            f"{r['sizes']['large']['requests']:,} requests",
            "; ".join(worse) if worse else "every figure within 10 %",
            not worse,
            None,
        )
    )
    return found


def _row(r: dict, found: list[Target], name: str, key: str, extra: str = "") -> str:
    result = r[key]
    beside = "; ".join(
        f"{t.short}: {t.figure}, {t.mark()}" for t in found if t.row == key and t.short
    )
    return (
        f"| {name} | {result['rps']:,.0f} | {result['p50_us'] / 1000:.1f} | "
        f"{result['p99_us'] / 1000:.1f} | {extra} | {beside} |"
    )


def database_table(kind: str, r: dict) -> list[str]:
    floor, peer = r["floor"], r["peer"]
    found = targets(kind, r)
    lines = [
        f"\n**{kind}**\n",
        "| scenario | req/s | p50 ms | p99 ms | ratio | target |",
        "|---|---|---|---|---|---|",
        _row(r, found, "floor: GET /api/v1/health (no database)", "floor"),
    ]
    for label in SIZES:
        size = r["sizes"][label]
        stored = f"{size['organizations']:,} organizations, {size['requests']:,} requests stored"
        create, benefits = r[f"create_{label}"], r[f"benefits_{label}"]
        lines += [
            _row(
                r,
                found,
                f"open a support request, {stored}",
                f"create_{label}",
                f"create/floor {create['rps'] / floor['rps']:.2f}; "
                f"ours/helpdesk {create['rps'] / peer['rps']:.1f}",
            ),
            _row(
                r,
                found,
                f"GET /api/v1/benefits, {stored}",
                f"benefits_{label}",
                f"benefits/floor {benefits['rps'] / floor['rps']:.2f}",
            ),
            _row(
                r,
                found,
                f"operator: GET /api/v1/support-requests?limit=50, {stored}",
                f"operator_{label}",
            ),
        ]
    lines.append(_row(r, found, "peer: django-helpdesk 2.6 ticket creation (its API)", "peer"))
    imp = r["import"]
    lines.append(
        f"\nimport-partners of {imp['organizations']:,} organizations: "
        f"{imp['seconds']:.1f} s, peak memory {imp['peak_mb']:.0f} MB (that process "
        f"alone). Dataset generation: {r['generate_small_s']:.1f} s "
        f"(to {r['sizes']['small']['requests']:,} requests), {r['generate_large_s']:.1f} s "
        f"(to {r['sizes']['large']['requests']:,}). reconcile: {r['reconcile']}"
    )
    lines.append(f"\ntargets ({kind}):\n")
    lines += [f"- {t.text}: {t.figure} — {t.mark()}" for t in found if t.text]
    lines += ledger_export_lines(r)
    return lines


def table(all_results: dict) -> str:
    return "\n".join(line for kind, r in all_results.items() for line in database_table(kind, r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--organizations", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--small-organizations", type=int, default=1_000)
    parser.add_argument("--small-requests", type=int, default=10_000)
    parser.add_argument("--writers", type=int, default=500)
    parser.add_argument("--import-organizations", type=int, default=100_000)
    parser.add_argument(
        "--compare-servers", action="store_true", help="Only measure gunicorn against granian."
    )
    parser.add_argument(
        "--ledger-export",
        action="store_true",
        help="Only measure the ledger export's memory and time, at --ledger-rows.",
    )
    parser.add_argument(
        "--ledger-rows",
        type=lambda text: tuple(int(n) for n in text.split(",")),
        default=(100_000, 1_000_000),
        help="The ledger entries for --ledger-export, small and large (default 100000,1000000).",
    )
    parser.add_argument(
        "--ledger-database",
        default="partnerdesk_ledger",
        help="The database --ledger-export makes afresh (a SQLite file in var/bench).",
    )
    args = parser.parse_args()
    if args.ledger_export:
        WORK.mkdir(parents=True, exist_ok=True)
        for kind in args.databases.split(","):
            results = ledger_export_steps(kind, args)
            print(f"\n**{kind}**")
            print("\n".join(ledger_export_lines(results)))
            print(
                f"\nDataset generation: {results['generate_small_s']:.1f} s, then "
                f"{results['generate_large_s']:.1f} s"
            )
        return
    if not args.compare_servers and (
        args.organizations <= args.small_organizations or args.requests <= args.small_requests
    ):
        raise SystemExit("the large size must be larger than the small one")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk (make bench installs it)")
    WORK.mkdir(parents=True, exist_ok=True)
    if args.compare_servers:
        print(compare_servers(args))
        return
    results = {kind: measure(kind, args) for kind in args.databases.split(",")}
    (WORK / "results.json").write_text(json.dumps(results, indent=2))
    print(
        f"wrk -t1 -c{args.connections} -d{args.seconds}s; gunicorn, 2 sync workers; "
        f"{os.cpu_count()} cores"
    )
    print(table(results))


if __name__ == "__main__":
    main()
