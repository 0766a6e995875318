"""`make bench`: partnerdesk under its production server, driven by wrk, on SQLite and on
PostgreSQL, beside django-helpdesk 2.6; prints one markdown table.

Every figure is measured in this run on this machine; ratios compare figures of one run.
Nothing here is a pass/fail test: the targets are printed next to the figures."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"
WORK = ROOT / "var" / "bench"
PG = "postgres://postgres@127.0.0.1:5432"
SERVER = "gunicorn"


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


SERVERS = {
    # 2 sync workers (one per core); persistent database connections come from settings.
    "gunicorn": [
        str(VENV / "gunicorn"),
        "partnerdesk.wsgi",
        "--bind=127.0.0.1:{port}",
        "--workers=2",
        "--no-control-socket",
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


def measure(kind: str, args) -> dict:
    results: dict = {}
    env = environment(fresh_database(kind, "partnerdesk_bench"))
    partnerdesk(env, "migrate", "--noinput")
    tokens = WORK / "tokens.txt"
    load = {"TOKENS_FILE": str(tokens)}
    for label, start, organizations, requests in (
        ("10k", 0, args.small_organizations, args.small_requests),
        (
            "1m",
            args.small_organizations,
            args.organizations - args.small_organizations,
            args.requests - args.small_requests,
        ),
    ):
        log(f"{kind}: generating {organizations} organizations, {requests} requests")
        began = time.monotonic()
        out = partnerdesk(
            env,
            "generate-dataset",
            f"--start={start}",
            f"--organizations={organizations}",
            f"--requests={requests}",
            f"--writers={args.writers if start == 0 else 0}",
            *([f"--tokens-file={tokens}"] if start == 0 else []),
        )
        results[f"generate_{label}_s"] = time.monotonic() - began
        products = out.split("on-premises ")[1].split(",")[0], out.split("cloud ")[1].rstrip(")\n")
        load.update(PRODUCT_ONPREM=products[0], PRODUCT_CLOUD=products[1].strip())
        with Server(env) as server:
            if label == "10k":
                results["floor"] = wrk(server.url, "floor.lua", args.seconds, args.connections)
            results[f"benefits_{label}"] = wrk(
                server.url, "benefits.lua", args.seconds, args.connections, **load
            )
            results[f"create_{label}"] = wrk(
                server.url, "create.lua", args.seconds, args.connections, **load
            )
    check = subprocess.run(
        [str(VENV / "partnerdesk"), "reconcile"], env=env, capture_output=True, text=True
    )
    results["reconcile"] = (check.stdout or check.stderr).strip().splitlines()[-1]
    results["import"] = import_organizations(kind, args.import_organizations)
    results["peer"] = helpdesk(kind, args)
    return results


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
    began = time.monotonic()
    done = subprocess.run(
        [str(VENV / "partnerdesk"), "import-partners", str(path), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - began
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode:
        raise SystemExit(f"import failed:\n{done.stderr}")
    return {"organizations": count, "seconds": seconds, "peak_mib": peak_kib / 1024}


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
    out = partnerdesk(
        env,
        "generate-dataset",
        "--organizations=1000",
        "--requests=10000",
        f"--writers={args.writers}",
        f"--tokens-file={tokens}",
    )
    load = {
        "TOKENS_FILE": str(tokens),
        "PRODUCT_ONPREM": out.split("on-premises ")[1].split(",")[0],
        "PRODUCT_CLOUD": out.split("cloud ")[1].rstrip(")\n").strip(),
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


def table(all_results: dict) -> str:
    def row(name, r, extra=""):
        return (
            f"| {name} | {r['rps']:,.0f} | {r['p50_us'] / 1000:.1f} | "
            f"{r['p99_us'] / 1000:.1f} | {extra} |"
        )

    lines = []
    for kind, r in all_results.items():
        floor, peer = r["floor"], r["peer"]
        lines += [
            f"\n**{kind}**\n",
            "| scenario | req/s | p50 ms | p99 ms | ratio |",
            "|---|---|---|---|---|",
            row("floor: GET /api/v1/health (no database)", floor),
        ]
        for label, size in (("10k", "10,000"), ("1m", "1,000,000")):
            create, benefits = r[f"create_{label}"], r[f"benefits_{label}"]
            lines.append(
                row(
                    f"open a support request, {size} requests stored",
                    create,
                    f"create/floor {create['rps'] / floor['rps']:.2f}; "
                    f"ours/helpdesk {create['rps'] / peer['rps']:.1f}",
                )
            )
            lines.append(row(f"GET /api/v1/benefits, {size} requests stored", benefits))
        lines.append(row("peer: django-helpdesk 2.6 ticket creation (its API)", peer))
        imp = r["import"]
        lines.append(
            f"\nimport-partners of {imp['organizations']:,} organizations: "
            f"{imp['seconds']:.1f} s, peak memory {imp['peak_mib']:.0f} MiB. "
            f"Dataset generation: {r['generate_10k_s']:.1f} s (10,000 requests), "
            f"{r['generate_1m_s']:.1f} s (to 1,000,000). reconcile: {r['reconcile']}"
        )
    return "\n".join(lines)


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
    args = parser.parse_args()
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
