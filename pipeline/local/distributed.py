"""The distributed stack on loopback: ``muniwatch stack up|down|status --distributed``.

What runs (the services of ``pipeline.local.services``, each only if it is not running yet):

- PostgreSQL, Airflow's metadata DB and Celery result backend: a cluster of its own in
  ``var/distributed/postgres`` on 127.0.0.1:5433 (Debian's ``postgresql`` package);
- Redis, the Celery broker, on 127.0.0.1:6380, no persistence (Debian's ``redis-server``);
- Elasticsearch, three nodes on 9221–9223 (``pipeline.local.cluster``), indices with one replica;
- Airflow 3.3 on the CeleryExecutor: api-server (UI on 127.0.0.1:8281), scheduler, dag-processor,
  triggerer, and two Celery workers ``worker-1@host`` and ``worker-2@host`` as separate processes.

Missing Debian packages are installed when run as root (``apt-get install -y postgresql
redis-server``); otherwise the error says what to install. Ports never collide with the shared
single node on 9200 or ``make up`` (8080). Each Airflow process runs under
``pipeline.local.supervise``, which starts it again when it exits (``services.RESTART_POLICY``).
``down`` stops what ``up`` started, by recorded pids (each supervisor's process group).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pipeline import airflow_settings
from pipeline.local import cluster, services
from pipeline.local.backing import (
    POSTGRES_PORT,
    DistributedError,
    ensure_packages,
    postgres_dir,
    postgres_pid,
    postgres_stop,
    postgres_up,
    stack_dir,
)
from pipeline.local.processes import Process
from pipeline.settings import REPO_ROOT, Settings

REDIS_PORT = int(os.environ.get("MUNIWATCH_DISTRIBUTED_REDIS_PORT", "6380"))
AIRFLOW_PORT = int(os.environ.get("MUNIWATCH_DISTRIBUTED_AIRFLOW_PORT", "8281"))
SCHEDULER_HEALTH_PORT = 8294
INDEX_PREFIX = "muniwatch-distributed"
START_TIMEOUT_S = 300.0
AIRFLOW_CONFIG_DIR = REPO_ROOT / "config" / "airflow"


def airflow_home(var_dir: Path) -> Path:
    return stack_dir(var_dir) / "airflow"


# --- Redis and Airflow processes ---------------------------------------------------------------------


def redis_process(var_dir: Path) -> Process:
    directory = stack_dir(var_dir) / "redis"
    return Process(
        name="Redis",
        argv=[
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ],
        pid_file=directory / "redis.pid",
        log=directory / "redis.log",
        marker=f":{REDIS_PORT}",
    )


def airflow_processes(var_dir: Path) -> dict[str, Process]:
    airflow = str(Path(sys.executable).parent / "airflow")
    logs = stack_dir(var_dir) / "logs"
    return {
        spec.name: Process(
            name=spec.name,
            # Under a restart loop, as compose's `restart: always` (services.RESTART_POLICY).
            argv=[
                sys.executable,
                "-m",
                "pipeline.local.supervise",
                "--name",
                spec.name,
                "--",
                airflow,
                *spec.command,
            ],
            pid_file=logs / f"{spec.name}.pid",
            log=logs / f"{spec.name}.log",
            marker=" ".join(spec.command),
        )
        for spec in services.SERVICES
    }


def _secrets(var_dir: Path) -> dict[str, str]:
    """Generated once per stack and kept (0600): every process must share them."""
    path = stack_dir(var_dir) / "secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    values = services.generate_secrets()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(values))
    return values


def airflow_environment(
    var_dir: Path,
    *,
    config_dir: Path | None = None,
    smtp_port: int | None = None,
    index_prefix: str = INDEX_PREFIX,
) -> dict[str, str]:
    """The environment of every Airflow process (and so every task) of the loopback stack."""
    home = airflow_home(var_dir)
    db = f"airflow@127.0.0.1:{POSTGRES_PORT}/airflow"
    nodes = cluster.nodes(var_dir)
    secret = _secrets(var_dir)
    env = dict(os.environ)
    env.update(services.AIRFLOW_SETTINGS)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO_ROOT / "plugins"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"postgresql+psycopg2://{db}",
        AIRFLOW__CELERY__RESULT_BACKEND=f"db+postgresql+psycopg2://{db}",
        AIRFLOW__CELERY__BROKER_URL=f"redis://127.0.0.1:{REDIS_PORT}/0",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{AIRFLOW_PORT}/execution/",
        AIRFLOW__CORE__FERNET_KEY=secret["AIRFLOW_FERNET_KEY"],
        AIRFLOW__API_AUTH__JWT_SECRET=secret["AIRFLOW_JWT_SECRET"],
        AIRFLOW__API__SECRET_KEY=secret["AIRFLOW_API_SECRET_KEY"],
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=str(SCHEDULER_HEALTH_PORT),
        AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST="127.0.0.1",
        AIRFLOW__API__PORT=str(AIRFLOW_PORT),
        AIRFLOW__API__HOST="127.0.0.1",
        AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{AIRFLOW_PORT}",
        AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT="8391",
        AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT="8393",
        AIRFLOW_CONN_ELASTICSEARCH_DEFAULT=json.dumps(
            {"conn_type": "elasticsearch", "host": "127.0.0.1", "port": nodes[0].http_port}
        ),
        # Every node: tasks fail over to a live node when one dies (the Connection names only one).
        MUNIWATCH_ES_URL=cluster.es_url(var_dir),
        MUNIWATCH_VAR_DIR=str(var_dir),
        MUNIWATCH_CONFIG_DIR=str(config_dir or REPO_ROOT / "config"),
        MUNIWATCH_INDEX_PREFIX=index_prefix,
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])),
    )
    if smtp_port is not None:
        env["AIRFLOW_CONN_SMTP_DEFAULT"] = json.dumps(
            {
                "conn_type": "smtp",
                "host": "127.0.0.1",
                "port": smtp_port,
                "extra": {"disable_ssl": True, "disable_tls": True},
            }
        )
    else:
        env.pop("AIRFLOW_CONN_SMTP_DEFAULT", None)
    if config_dir is not None:  # the test's and demo's feeds are served on loopback
        hosts = {h for h in env.get("MUNIWATCH_ALLOW_HOSTS", "").split(",") if h} | {"127.0.0.1"}
        env["MUNIWATCH_ALLOW_HOSTS"] = ",".join(sorted(hosts))
    return env


def service_environment(env: dict[str, str], name: str) -> dict[str, str]:
    return {**env, **services.service(name).loopback_env}


def _airflow_cli(env: dict[str, str], *args: str) -> str:
    airflow = str(Path(sys.executable).parent / "airflow")
    done = subprocess.run(
        [airflow, *args], env=env, capture_output=True, text=True, check=False, cwd=REPO_ROOT
    )
    if done.returncode != 0:
        raise DistributedError(f"airflow {' '.join(args)} failed:\n{(done.stderr or done.stdout)[-3000:]}")
    return done.stdout


def healthy(env: dict[str, str], name: str) -> bool:
    """Run the service's health check (the one docker-compose runs) in its environment."""
    check = services.service(name).healthcheck
    done = subprocess.run(
        ["bash", "-c", check],
        env=service_environment(env, name),
        capture_output=True,
        check=False,
        cwd=REPO_ROOT,
        timeout=120,
    )
    return done.returncode == 0


def wait_healthy(env: dict[str, str], names: list[str], timeout: float = START_TIMEOUT_S) -> None:
    """Each service's check in a loop of its own until it passes: one slow check (a CLI start-up
    of 10-25 s under load) does not hold back the others'."""
    deadline = time.monotonic() + timeout

    def becomes_healthy(name: str) -> bool:
        while not healthy(env, name):
            if time.monotonic() > deadline:
                return False
            time.sleep(1.0)
        return True

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
        verdicts = list(pool.map(becomes_healthy, names))
    waiting = [name for name, ok in zip(names, verdicts, strict=True) if not ok]
    if waiting:
        logs = stack_dir(Path(env["MUNIWATCH_VAR_DIR"])) / "logs"
        raise DistributedError(f"not healthy after {timeout:.0f}s: {', '.join(waiting)}; see {logs}/*.log")


def _prepare_indices(env: dict[str, str]) -> None:
    """Indices in place with one replica each, before the first task writes to them."""
    from pipeline.settings import load_settings

    cluster.prepare_replicated(load_settings(env), airflow_settings.config_paths_from_airflow(environ=env))


def up(
    settings: Settings,
    *,
    config_dir: Path | None = None,
    smtp_port: int | None = None,
    index_prefix: str = INDEX_PREFIX,
) -> list[str]:
    """Start what is not running; return lines saying where everything is."""
    var_dir = settings.var_dir
    t0 = time.monotonic()
    timings: list[str] = []
    ensure_packages()
    stack_dir(var_dir).mkdir(parents=True, exist_ok=True)
    env = airflow_environment(var_dir, config_dir=config_dir, smtp_port=smtp_port, index_prefix=index_prefix)
    processes = airflow_processes(var_dir)
    # The Elasticsearch nodes boot (a minute or more) while Postgres, Redis and the Airflow
    # database get ready: nothing of the one needs the other until the indices are prepared.
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:

        def cluster_up() -> dict[str, object]:
            health = cluster.up(var_dir)
            timings.append(f"Elasticsearch cluster formed in {time.monotonic() - t0:.0f}s")
            return health

        cluster_started = pool.submit(cluster_up)
        postgres_up(var_dir)
        redis = redis_process(var_dir)
        redis.pid_file.parent.mkdir(parents=True, exist_ok=True)
        redis.start(env)
        if any(process.pid() is None for process in processes.values()):
            airflow_home(var_dir).mkdir(parents=True, exist_ok=True)
            _airflow_cli(env, "db", "migrate")
            imports = [
                pool.submit(_airflow_cli, env, "pools", "import", str(AIRFLOW_CONFIG_DIR / "pools.json")),
                pool.submit(
                    _airflow_cli, env, "variables", "import", str(AIRFLOW_CONFIG_DIR / "variables.json")
                ),
            ]
            for done in imports:
                done.result()
        timings.append(f"Postgres, Redis and the Airflow DB ready in {time.monotonic() - t0:.0f}s")
        health = cluster_started.result()
    _prepare_indices(env)
    timings.append(f"indices prepared in {time.monotonic() - t0:.0f}s")
    # Everything but the scheduler at once; the scheduler once the API server answers: a task
    # queued before it answers fails its first try (tasks report to the API server).
    for name, process in processes.items():
        if name != "airflow-scheduler":
            process.start(service_environment(env, name))
    wait_healthy(env, ["airflow-apiserver"])
    processes["airflow-scheduler"].start(service_environment(env, "airflow-scheduler"))
    # The other checks start an Airflow or Celery CLI each (10-25 s of CPU under load): run them
    # once the scheduler is up, when the processes they check have long started, not while they do.
    wait_healthy(env, ["airflow-scheduler"])
    wait_healthy(env, list(processes))
    timings.append(f"Airflow healthy in {time.monotonic() - t0:.0f}s")
    return [
        f"PostgreSQL: 127.0.0.1:{POSTGRES_PORT} (data {postgres_dir(var_dir)})",
        f"Redis: 127.0.0.1:{REDIS_PORT}",
        f"Elasticsearch cluster {cluster.CLUSTER_NAME}: {health.get('status')}, "
        f"{health.get('number_of_nodes')} nodes, MUNIWATCH_ES_URL={cluster.es_url(var_dir)}",
        f"index prefix: {index_prefix}",
        f"Airflow UI: http://127.0.0.1:{AIRFLOW_PORT}/ "
        f"(user admin, password in {airflow_home(var_dir) / 'passwords.json'})",
        f"Celery workers: worker-1, worker-2; logs in {stack_dir(var_dir) / 'logs'}",
        "stop everything with `make down-distributed`",
        *timings,
    ]


def down(settings: Settings) -> list[str]:
    """Stop what ``up`` started (recorded pids), and nothing else."""
    var_dir = settings.var_dir
    # All Airflow processes at once: each may take its time to finish (a worker its task).
    with concurrent.futures.ThreadPoolExecutor() as pool:
        stopped = dict(
            zip(
                airflow_processes(var_dir),
                pool.map(Process.stop, airflow_processes(var_dir).values()),
                strict=True,
            )
        )
    lines = [f"{name}: {'stopped' if was else 'was not running'}" for name, was in stopped.items()]
    lines.append(f"Redis: {'stopped' if redis_process(var_dir).stop() else 'was not running'}")
    lines.append(f"PostgreSQL: {'stopped' if postgres_stop(var_dir) else 'was not running'}")
    lines += cluster.down(var_dir)
    return lines


def status(settings: Settings) -> list[str]:
    var_dir = settings.var_dir
    pg_pid = postgres_pid(var_dir)
    lines = [f"PostgreSQL: {f'running, pid {pg_pid}' if pg_pid else 'not running'}"]
    for process in [redis_process(var_dir), *airflow_processes(var_dir).values()]:
        pid = process.pid()
        lines.append(f"{process.name}: " + (f"running, pid {pid}" if pid else "not running"))
    for node in cluster.nodes(var_dir):
        lines.append(
            f"Elasticsearch {node.name} ({node.url}): " + ("running" if node.pid() else "not running")
        )
    return lines


def stack_command(action: str, settings: Settings) -> int:
    """``muniwatch stack up|down|status --distributed``."""
    try:
        if action == "up":
            lines = up(settings)
        elif action == "down":
            lines = down(settings)
        else:
            lines = status(settings)
    except (DistributedError, cluster.ClusterError) as error:
        print(f"muniwatch stack {action} --distributed: {error}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
