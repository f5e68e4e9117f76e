"""docker-compose.yml cannot run here (no Docker engine), so it is checked by parsing: the
services DESIGN names exist, ports and volumes line up, and versions agree with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest
import yaml

from pipeline.local import es_install
from pipeline.settings import REPO_ROOT

pytestmark = pytest.mark.unit

AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker-1": "celery worker --celery-hostname worker-1@%h",
    "airflow-worker-2": "celery worker --celery-hostname worker-2@%h",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return data


@pytest.fixture(scope="module")
def pins() -> dict[str, str]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    found = {}
    for requirement in project["dependencies"]:
        name, _, version = requirement.partition("==")
        found[name.lower()] = version
    return found


def _env_default(compose_text: str, variable: str) -> str:
    match = re.search(r"\$\{" + variable + r":-([^}]+)\}", compose_text)
    assert match, f"{variable} has no default in docker-compose.yml"
    return match.group(1)


def test_every_service_of_the_stack_is_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in [
        "es01",
        "es02",
        "es03",
        "kibana",
        "kibana-import",
        "mailpit",
        "postgres",
        "redis",
        "airflow-init",
    ]:
        assert name in services, f"service {name} missing"
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command


def test_airflow_runs_celery_on_postgres_and_redis(compose: dict[str, Any]) -> None:
    env = compose["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    for name in AIRFLOW_SERVICES:
        assert compose["services"][name]["build"] == "."  # the image with muniwatch installed


def test_elasticsearch_has_security_on_and_passwords_from_env(compose: dict[str, Any]) -> None:
    env = compose["services"]["es01"]["environment"]
    assert env["xpack.security.enabled"] == "true"
    assert env["ELASTIC_PASSWORD"] == "${ELASTIC_PASSWORD}"
    example = (REPO_ROOT / ".env.example").read_text()
    for variable in re.findall(r"(?<!\$)\$\{([A-Z_]+)[}:]", (REPO_ROOT / "docker-compose.yml").read_text()):
        assert re.search(rf"^{variable}=", example, re.M), f"{variable} is used but not in .env.example"


def test_versions_agree_with_pyproject(compose: dict[str, Any], pins: dict[str, str]) -> None:
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    stack = _env_default(text, "STACK_VERSION")
    assert stack == es_install.ES_VERSION, "compose images and the local node run different versions"
    for service in ("es01", "es02", "es03", "kibana", "es-setup"):
        assert compose["services"][service]["image"].endswith(":${STACK_VERSION:-" + stack + "}")
    # The Python client speaks the server's major.minor (PyPI has no 9.5.4 client; 9.5.x is the same API).
    assert pins["elasticsearch"].split(".")[:2] == stack.split(".")[:2]
    assert re.search(rf"^STACK_VERSION={re.escape(stack)}$", (REPO_ROOT / ".env.example").read_text(), re.M)
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    airflow_base = re.search(r"^FROM apache/airflow:([\d.]+)-python", dockerfile, re.M)
    assert airflow_base and airflow_base.group(1) == pins["apache-airflow"]


def test_ports_are_published_on_loopback_and_unique(compose: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
            host_port = port.split(":")[1]
            assert host_port not in seen, f"{name} and {seen.get(host_port)} both publish {host_port}"
            seen[host_port] = name
    assert {"${AIRFLOW_PORT", "${KIBANA_PORT", "${ES_PORT", "8025"} <= {p.split(":-")[0] for p in seen}


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} uses undeclared volume {source}"
            else:
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing path {source}"


def test_kibana_import_runs_the_project_command(compose: dict[str, Any]) -> None:
    service = compose["services"]["kibana-import"]
    assert service["command"][:3] == ["muniwatch", "kibana", "import"]
    assert service["depends_on"]["kibana"]["condition"] == "service_healthy"


def test_airflow_tasks_read_the_mounted_configuration(compose: dict[str, Any]) -> None:
    # The image installs the package (no checkout beside it): config/ is found only through the mount.
    service = compose["services"]["airflow-worker-1"]
    mounted = {volume.split(":")[1] for volume in service["volumes"] if volume.startswith("./config:")}
    assert service["environment"]["MUNIWATCH_CONFIG_DIR"] in mounted


def test_init_loads_the_pool_and_variables_the_dags_need(compose: dict[str, Any]) -> None:
    script = "\n".join(compose["services"]["airflow-init"]["command"])
    assert "airflow db migrate" in script
    for file in ("pools.json", "variables.json"):
        assert f"/opt/muniwatch/config/airflow/{file}" in script
        assert (REPO_ROOT / "config" / "airflow" / file).exists()


def test_failure_emails_reach_mailpit_without_ssl_by_default() -> None:
    import json

    # The relay is a setting of .env; the example's default is the Mailpit container.
    example = (REPO_ROOT / ".env.example").read_text()
    match = re.search(r"^AIRFLOW_CONN_SMTP_DEFAULT='(.*)'$", example, re.M)
    assert match, "AIRFLOW_CONN_SMTP_DEFAULT missing from .env.example"
    connection = json.loads(match.group(1))
    # Real JSON booleans: the provider reads these extras with bool(), so "false" would mean true.
    assert connection["extra"] == {"disable_ssl": True, "disable_tls": True}
    assert (connection["host"], connection["port"]) == ("mailpit", 1025)
