"""The services of the distributed stack, described once for both places it runs.

``muniwatch stack up --distributed`` (``pipeline.local.distributed``) starts these services as
processes on loopback; ``docker-compose.yml`` runs the same services as containers.
``tests/unit/test_compose_services.py`` checks that every service here is in the compose file with
the same command, the same Airflow environment keys (and the same values for every setting that is
not an address or a secret) and the same health check, so the compose file cannot drift from what
has run. What differs on purpose is said here, next to the service, with the reason.

Sizing for one 2-core, 24 GB machine: two Celery workers of one task process each (one per core;
``worker_prefetch_multiplier`` 1, so a queued task waits for a free worker instead of behind a busy
one), ``parallelism`` 8 (queued plus running), three Elasticsearch nodes of 512 MB heap each.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from types import MappingProxyType

# Airflow settings identical on loopback and in docker-compose (values are strings, as in an env file).
AIRFLOW_SETTINGS: MappingProxyType[str, str] = MappingProxyType(
    {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "8",
        # The task process records this as the task instance's host: the worker's own name.
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "pipeline.local.services.worker_hostname",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        # A task whose worker died (machine lost, OOM kill) is failed and retried on another worker
        # after this many seconds without a heartbeat (Airflow's default, 300 s, idles for minutes).
        # A live task heartbeats every 5 s; the longest gap measured on the loaded 2-core machine was
        # 8 s (README, Scaling out), so 30 s fails no live task and costs a dead one 30 s.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        # A scheduler that died (SIGKILL, OOM) leaves the tasks it had queued to the next one, which
        # adopts them once the dead one's heartbeat is this old (Airflow's default threshold 30 s)
        # and only at this interval (default 300 s: a restarted scheduler idled for 5 minutes).
        "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "30",
        # A task whose broker message was lost (Redis restarted without persistence while it was
        # queued) is queued again after this many seconds instead of Airflow's 600.
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "180",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
)

# Settings whose values are addresses or secrets of one deployment: both places must set each key.
AIRFLOW_DEPLOYMENT_KEYS = frozenset(
    {
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        # Shared by every process: tasks store encrypted Connections, the API server signs the
        # tokens tasks use (a process with its own random secret rejects the others' tokens).
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
        "AIRFLOW__API__PORT",
        "AIRFLOW_CONN_ELASTICSEARCH_DEFAULT",
        "AIRFLOW_CONN_SMTP_DEFAULT",
        "MUNIWATCH_ES_URL",
        "MUNIWATCH_VAR_DIR",
        "MUNIWATCH_CONFIG_DIR",
    }
)

WORKER_HOSTNAME_VARIABLE = "MUNIWATCH_WORKER_HOSTNAME"

# Every Airflow service is started again whenever it exits: the scheduler, for one, exits when the
# metadata database goes away (a Postgres restart) and must come back without a manual step.
# docker-compose says `restart: always`; on loopback ``pipeline.local.supervise`` runs each process
# in a restart loop (back-off 2 s, doubling up to 30 s while it keeps exiting within a minute).
RESTART_POLICY = "always"


@dataclass(frozen=True, kw_only=True)
class Service:
    """One long-running part of the stack.

    Args:
        name: the docker-compose service name; on loopback the process name.
        command: the arguments after ``airflow`` (Airflow services) or the whole command.
        healthcheck: a shell command, exit 0 when healthy; ``$VAR`` reads the service's environment
            (written ``$$VAR`` in docker-compose.yml, which would otherwise substitute it itself).
        loopback_env: settings only the loopback stack needs, because its processes share one host.
    """

    name: str
    command: tuple[str, ...]
    healthcheck: str
    airflow: bool = True
    loopback_env: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))


def _worker(number: int, log_port: int) -> Service:
    return Service(
        name=f"airflow-worker-{number}",
        # %h is the host name: worker-1@host and worker-2@host, also when both share a host.
        command=("celery", "worker", "--celery-hostname", f"worker-{number}@%h"),
        healthcheck=(
            "celery --app airflow.providers.celery.executors.celery_executor.app inspect ping "
            f'-d "worker-{number}@$HOSTNAME"'
        ),
        loopback_env=MappingProxyType(
            {
                # Two workers on one host: each needs its own log-server port and its own name.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_port),
                WORKER_HOSTNAME_VARIABLE: f"worker-{number}",
            }
        ),
    )


SERVICES: tuple[Service, ...] = (
    Service(
        name="airflow-apiserver",
        command=("api-server",),
        healthcheck="curl --fail --silent http://127.0.0.1:$AIRFLOW__API__PORT/api/v2/version",
    ),
    Service(
        name="airflow-scheduler",
        command=("scheduler",),
        healthcheck=(
            "curl --fail --silent "
            "http://127.0.0.1:$AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT/health"
        ),
    ),
    Service(
        name="airflow-dag-processor",
        command=("dag-processor",),
        healthcheck="airflow jobs check --job-type DagProcessorJob --local",
    ),
    Service(
        name="airflow-triggerer",
        command=("triggerer",),
        healthcheck="airflow jobs check --job-type TriggererJob --local",
        loopback_env=MappingProxyType({"AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": "8393"}),
    ),
    _worker(1, 8391),
    _worker(2, 8392),
)

# Not Airflow: the same role in both places, started differently (Debian packages vs images).
BACKING_SERVICES = ("postgres", "redis", "es01", "es02", "es03")
# Only in docker-compose, with the reason.
COMPOSE_ONLY = {
    "es-setup": "creates the TLS certificates and the kibana_system password (security is off on loopback)",
    "kibana": "analysts' UI; no Kibana runs on these machines",
    "kibana-import": "loads the saved objects into Kibana",
    "mailpit": "SMTP relay with a web UI; on loopback the caller's SMTP server (tests: aiosmtpd)",
    "muniwatch-web": "the reporter-facing unsubscribe/preview endpoint (`muniwatch serve`)",
    "airflow-init": "one-shot: migrate the DB, import pools and Variables (`stack up` does it in-process)",
    "airflow-cli": "debug profile: an Airflow command line inside the network",
}


def service(name: str) -> Service:
    for candidate in SERVICES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no service {name!r}; known: {', '.join(s.name for s in SERVICES)}")


def worker_hostname() -> str:
    """Airflow's ``hostname_callable``: the worker's name where several share a host, else the FQDN."""
    return os.environ.get(WORKER_HOSTNAME_VARIABLE) or socket.getfqdn()


def generate_secrets() -> dict[str, str]:
    """Fresh secrets for one deployment: the Fernet key (32 url-safe base64 bytes, as Fernet wants)."""
    import base64

    return {
        "AIRFLOW_FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "AIRFLOW_JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW_API_SECRET_KEY": secrets.token_urlsafe(32),
    }
