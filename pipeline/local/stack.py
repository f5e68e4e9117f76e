"""The local long-running stack: ``make up`` / ``make down`` → ``muniwatch stack up|down|status``.

``up`` starts, each only if it is not already running (idempotent):

1. Elasticsearch, through ``pipeline.local.es_local`` (remembered as ours only if this command started it);
2. an SMTP sink on 127.0.0.1 (aiosmtpd's Maildir handler) keeping every message under ``var/mail``;
3. the offline demo feeds and pages (``pipeline.local.demo``) on 127.0.0.1, with a demo configuration
   under ``var/stack/demo`` (``--no-demo`` polls the real sources in ``config/`` instead);
4. ``muniwatch serve`` on 127.0.0.1:8090, the reporter-facing pages the e-mails link to (same
   index prefix and ``var_dir`` as Airflow's tasks, so their unsubscribe tokens verify);
5. Airflow standalone (scheduler, DAG processor, triggerer, API server + UI on :8080) with
   ``AIRFLOW_HOME=var/airflow``, the repository's ``dags/`` and ``plugins/``, SQLite, the
   LocalExecutor and the settings in ``config/airflow/standalone.env``; the pool and Variables
   of ``config/airflow/*.json`` are imported; the Connections point at the ES node and the sink.

``down`` stops what ``up`` started — by the process ids recorded under ``var/stack`` — and
nothing else. ``status`` says what runs where.

The benchmark (``bench/airflow_latency.py``) starts a second, private stack with the same code:
its own ``var_dir`` (so its own AIRFLOW_HOME, metadata DB and pid files), its own ports, its own
configuration folder and index prefix, and an SMTP sink of its own (``smtp_sink=False``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from pipeline.local import es_local
from pipeline.local.demo import DemoServer, write_demo_config
from pipeline.local.processes import Process
from pipeline.search.links import search_command_for
from pipeline.settings import DEFAULT_SERVE_PORT, REPO_ROOT, Settings, load_settings

AIRFLOW_CONFIG_DIR = REPO_ROOT / "config" / "airflow"
SMTP_PORT = int(os.environ.get("MUNIWATCH_STACK_SMTP_PORT", "8025"))
DEMO_PORT = int(os.environ.get("MUNIWATCH_STACK_DEMO_PORT", "8781"))
SERVE_PORT = DEFAULT_SERVE_PORT
AIRFLOW_PORT = 8080
AIRFLOW_START_TIMEOUT_S = 240.0
# Apart from `make demo` (muniwatch-demo): the stack polls the demo feeds as new on its first run.
DEMO_INDEX_PREFIX = "muniwatch-stack"


class StackError(RuntimeError):
    """A part of the stack cannot start; the message says which and what to do."""


def stack_dir(settings: Settings) -> Path:
    return settings.var_dir / "stack"


def airflow_home(settings: Settings) -> Path:
    return settings.var_dir / "airflow"


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _es_connection(es_url: str) -> str:
    parts = urlsplit(es_url)
    fields: dict[str, object] = {
        "conn_type": "elasticsearch",
        "host": parts.hostname,
        "port": parts.port or 9200,
        "extra": {"scheme": parts.scheme},
    }
    if parts.username:
        fields.update(login=parts.username, password=parts.password or "")
    return json.dumps(fields)


def demo_config_dir(settings: Settings) -> Path:
    return stack_dir(settings) / "demo"


def airflow_environment(
    settings: Settings,
    *,
    demo: bool,
    airflow_port: int = AIRFLOW_PORT,
    smtp_port: int = SMTP_PORT,
    config_dir: Path | None = None,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment Airflow (and so every task) runs with; the user's MUNIWATCH_* still win.

    Args:
        config_dir: the folder of the three YAML files (``MUNIWATCH_CONFIG_DIR``); wins over ``demo``.
        overrides: applied last, over the user's environment too (the benchmark's own prefix).
    """
    home = airflow_home(settings)
    env = dict(os.environ)
    env.update(_read_env_file(AIRFLOW_CONFIG_DIR / "standalone.env"))
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO_ROOT / "plugins"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW_CONN_ELASTICSEARCH_DEFAULT=_es_connection(settings.es_url),
        # JSON booleans: the smtp provider reads these extras with bool(), so "false" is true.
        AIRFLOW_CONN_SMTP_DEFAULT=json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": smtp_port,
                "extra": {"disable_ssl": True, "disable_tls": True, "from_email": settings.mail_from},
            }
        ),
        MUNIWATCH_VAR_DIR=str(settings.var_dir),
        # e-mail links of this stack's alerts point at its `muniwatch serve`
        MUNIWATCH_PUBLIC_URL=os.environ.get("MUNIWATCH_PUBLIC_URL") or f"http://127.0.0.1:{SERVE_PORT}",
        # `airflow standalone` starts its parts as `airflow ...` from PATH: this virtualenv's.
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])),
    )
    if airflow_port != AIRFLOW_PORT:  # tasks reach the execution API through the base URL
        env.update(
            AIRFLOW__API__PORT=str(airflow_port), AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{airflow_port}"
        )
    if demo:
        env.setdefault("MUNIWATCH_INDEX_PREFIX", DEMO_INDEX_PREFIX)
        env["MUNIWATCH_CONFIG_DIR"] = str(demo_config_dir(settings))
        hosts = {h for h in env.get("MUNIWATCH_ALLOW_HOSTS", "").split(",") if h} | {"127.0.0.1"}
        env["MUNIWATCH_ALLOW_HOSTS"] = ",".join(sorted(hosts))
    if config_dir is not None:
        env["MUNIWATCH_CONFIG_DIR"] = str(config_dir)
    env.update(overrides or {})
    return env


def components(settings: Settings, *, smtp_port: int = SMTP_PORT) -> dict[str, Process]:
    directory = stack_dir(settings)
    python = sys.executable
    airflow = str(Path(python).parent / "airflow")
    mail = str(settings.var_dir / "mail")
    smtp = ["-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}", "-c", "aiosmtpd.handlers.Mailbox", mail]
    demo = ["-m", "pipeline.local.stack", "serve-demo", str(DEMO_PORT), str(demo_config_dir(settings))]
    serve = [str(Path(python).parent / "muniwatch"), "serve", "--port", str(SERVE_PORT)]
    return {
        "smtp": Process(
            name="SMTP sink", argv=[python, *smtp], marker="aiosmtpd",
            log=directory / "smtp.log", pid_file=directory / "smtp.pid",
        ),
        "demo": Process(
            name="demo feeds", argv=[python, *demo], marker="serve-demo",
            log=directory / "demo.log", pid_file=directory / "demo.pid",
        ),
        "serve": Process(
            name="muniwatch serve", argv=serve, marker="muniwatch serve",
            log=directory / "serve.log", pid_file=directory / "serve.pid",
        ),
        "airflow": Process(
            name="Airflow standalone", argv=[airflow, "standalone"], marker="standalone",
            log=directory / "airflow.log", pid_file=directory / "airflow.pid",
        ),
    }  # fmt: skip


def _airflow_cli(env: dict[str, str], *args: str) -> None:
    airflow = str(Path(sys.executable).parent / "airflow")
    done = subprocess.run(
        [airflow, *args], env=env, capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )
    if done.returncode != 0:
        raise StackError(f"airflow {' '.join(args)} failed:\n{(done.stderr or done.stdout)[-3000:]}")


def _wait_for(url: str, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=3.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(2.0)
    raise StackError(f"{what} did not answer at {url} within {timeout:.0f}s; see {log}")


def _login(settings: Settings) -> str:
    passwords = airflow_home(settings) / "passwords.json"
    try:
        users = json.loads(passwords.read_text())
    except (FileNotFoundError, ValueError):
        return f"user admin, password in {passwords} once Airflow has written it"
    return ", ".join(f"user {user} / password {password}" for user, password in users.items())


def up(
    settings: Settings,
    *,
    demo: bool = True,
    airflow_port: int = AIRFLOW_PORT,
    smtp_port: int = SMTP_PORT,
    smtp_sink: bool = True,
    config_dir: Path | None = None,
    overrides: Mapping[str, str] | None = None,
) -> list[str]:
    """Start what is not running yet; return lines telling the user where everything is.

    Args:
        demo: serve the offline demo feeds and poll them (else ``config_dir`` or ``config/``).
        airflow_port: the API server and UI (a second stack needs another port).
        smtp_port: where ``smtp_default`` sends; ``smtp_sink=False`` when the caller runs the sink.
        config_dir: the folder of the three YAML files Airflow's tasks and watcher read.
        overrides: environment for Airflow applied last (index prefix, watcher interval, ...).
    """
    directory = stack_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    was_running = es_local.status(settings).reachable
    node = es_local.up(settings)
    if not was_running:
        (directory / "es.started").write_text("started by muniwatch stack up\n")
    parts = components(settings, smtp_port=smtp_port)
    env = airflow_environment(settings, demo=demo, airflow_port=airflow_port, smtp_port=smtp_port,
                              config_dir=config_dir, overrides=overrides)  # fmt: skip
    lines = [node.describe(settings.es_url)]
    for key in [name for name, wanted in (("smtp", smtp_sink), ("demo", demo)) if wanted]:
        component = parts[key]
        port = smtp_port if key == "smtp" else DEMO_PORT
        if component.pid() is None and _port_open(port):
            raise StackError(f"{component.name}: port {port} on 127.0.0.1 is taken by another program")
        for maildir in ("tmp", "new", "cur"):  # aiosmtpd's Mailbox needs a whole Maildir
            (settings.var_dir / "mail" / maildir).mkdir(parents=True, exist_ok=True)
        component.start(env)
    if demo:
        _wait_for(f"http://127.0.0.1:{DEMO_PORT}/", 30.0, "the demo server", parts["demo"].log)
    serve_line = _start_serve(parts["serve"], env)
    if parts["airflow"].pid() is None:
        if _port_open(airflow_port):
            raise StackError(f"Airflow: port {airflow_port} on 127.0.0.1 is taken by another program")
        airflow_home(settings).mkdir(parents=True, exist_ok=True)
        _airflow_cli(env, "db", "migrate")
        _airflow_cli(env, "pools", "import", str(AIRFLOW_CONFIG_DIR / "pools.json"))
        _airflow_cli(env, "variables", "import", str(AIRFLOW_CONFIG_DIR / "variables.json"))
        parts["airflow"].start(env)
    _wait_for(
        f"http://127.0.0.1:{airflow_port}/api/v2/monitor/health",
        AIRFLOW_START_TIMEOUT_S,
        "Airflow",
        parts["airflow"].log,
    )
    sources = f"config {config_dir}" if config_dir is not None else "config/sources.yaml (real feeds)"
    lines += [
        f"SMTP sink: smtp://127.0.0.1:{smtp_port}, messages kept in {settings.var_dir / 'mail' / 'new'}"
        if smtp_sink
        else f"SMTP: smtp://127.0.0.1:{smtp_port} (the caller's sink)",
        f"demo feeds: http://127.0.0.1:{DEMO_PORT}/ (config {demo_config_dir(settings)})"
        if demo and config_dir is None
        else f"sources: {sources}",
        f"index prefix: {env.get('MUNIWATCH_INDEX_PREFIX', settings.index_prefix)}; search it with "
        + search_command_for(env.get("MUNIWATCH_INDEX_PREFIX", settings.index_prefix)),
        serve_line,
        f"Airflow UI: http://127.0.0.1:{airflow_port}/  ({_login(settings)})",
        f"muniwatch status: http://127.0.0.1:{airflow_port}/muniwatch/status (menu: muniwatch status)",
        f"logs: {directory}/*.log; stop everything with `make down`",
    ]
    return lines


def _start_serve(component: Process, env: dict[str, str]) -> str:
    """Start ``muniwatch serve``; a port taken by another program is said, not fatal (the pipeline
    runs without it, only the e-mail links of this stack do not answer)."""
    if component.pid() is None and _port_open(SERVE_PORT):
        return f"muniwatch serve: NOT started, port {SERVE_PORT} on 127.0.0.1 is taken by another program"
    component.start(env)
    _wait_for(f"http://127.0.0.1:{SERVE_PORT}/", 30.0, "muniwatch serve", component.log)
    return f"muniwatch serve (e-mail links: unsubscribe, digest preview): {env['MUNIWATCH_PUBLIC_URL']}/"


def down(settings: Settings) -> list[str]:
    """Stop what ``up`` started, and only that."""
    lines = []
    for component in reversed(list(components(settings).values())):
        lines.append(f"{component.name}: {'stopped' if component.stop() else 'was not running'}")
    marker = stack_dir(settings) / "es.started"
    if marker.exists():
        stopped = es_local.down(settings)
        marker.unlink()
        lines.append(f"Elasticsearch: {'stopped' if stopped else 'was not running'}")
    else:
        lines.append("Elasticsearch: left running (it was running before `make up`)")
    return lines


def status(settings: Settings) -> list[str]:
    lines = [es_local.status(settings).describe(settings.es_url)]
    for component in components(settings).values():
        pid = component.pid()
        lines.append(f"{component.name}: " + (f"running, pid {pid}" if pid else "not running"))
    if components(settings)["airflow"].pid():
        lines.append(f"Airflow UI: http://127.0.0.1:{AIRFLOW_PORT}/  ({_login(settings)})")
    return lines


def serve_demo(port: int, config_dir: Path) -> None:
    """The demo feed server as a long-running process (``up`` starts it; SIGTERM ends it)."""
    server = DemoServer(port=port).start()
    write_demo_config(config_dir, server.base_url)

    def stop(*_: object) -> None:
        server.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    while True:
        time.sleep(3600)


def stack_command(args: argparse.Namespace) -> int:
    settings = load_settings()
    if getattr(args, "distributed", False):
        from pipeline.local import distributed

        return distributed.stack_command(args.action, settings)
    try:
        if args.action == "up":
            lines = up(settings, demo=not getattr(args, "no_demo", False))
        elif args.action == "down":
            lines = down(settings)
        else:
            lines = status(settings)
    except StackError as error:
        print(f"muniwatch stack {args.action}: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve-demo"]:
        serve_demo(int(sys.argv[2]), Path(sys.argv[3]))
