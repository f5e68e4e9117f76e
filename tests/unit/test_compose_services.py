"""docker-compose.yml against the services that have run on loopback (pipeline/local/services.py).

``muniwatch stack up --distributed`` starts exactly ``services.SERVICES`` with
``services.AIRFLOW_SETTINGS``; these tests fail when the compose file runs a different command,
health check or setting, or when a service appears in one place only without a stated reason.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from pipeline.local import compose_env, distributed, services
from pipeline.settings import REPO_ROOT

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return data


def test_the_service_list_is_the_loopback_one_plus_the_stated_extras(compose: dict[str, Any]) -> None:
    expected = (
        {s.name for s in services.SERVICES} | set(services.BACKING_SERVICES) | set(services.COMPOSE_ONLY)
    )
    assert set(compose["services"]) == expected


@pytest.mark.parametrize("spec", services.SERVICES, ids=lambda s: s.name)
def test_commands_and_health_checks_are_the_loopback_ones(
    compose: dict[str, Any], spec: services.Service
) -> None:
    service = compose["services"][spec.name]
    assert service["command"] == " ".join(spec.command)
    # compose substitutes ${VAR} itself; $$VAR reaches the container's shell as $VAR.
    assert service["healthcheck"]["test"] == ["CMD-SHELL", spec.healthcheck.replace("$", "$$")]


@pytest.mark.parametrize("spec", services.SERVICES, ids=lambda s: s.name)
def test_airflow_settings_are_the_loopback_ones(compose: dict[str, Any], spec: services.Service) -> None:
    env = compose["services"][spec.name]["environment"]
    for key, value in services.AIRFLOW_SETTINGS.items():
        assert str(env.get(key)) == value, f"{spec.name}: {key}={env.get(key)!r}, loopback runs {value!r}"
    missing = services.AIRFLOW_DEPLOYMENT_KEYS - set(env)
    assert not missing, f"{spec.name} lacks {sorted(missing)}"


def test_the_loopback_stack_sets_the_same_keys(tmp_path: Path) -> None:
    env = distributed.airflow_environment(tmp_path, config_dir=tmp_path, smtp_port=2525)
    for key, value in services.AIRFLOW_SETTINGS.items():
        assert env[key] == value
    assert set(env) >= services.AIRFLOW_DEPLOYMENT_KEYS
    # Every process of the stack shares the generated secrets (a second call reads them back).
    again = distributed.airflow_environment(tmp_path, config_dir=tmp_path, smtp_port=2525)
    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        assert env[key] and env[key] == again[key]
    Fernet(env["AIRFLOW__CORE__FERNET_KEY"].encode())


def test_two_workers_with_distinct_celery_hostnames(compose: dict[str, Any]) -> None:
    names = [
        re.search(r"--celery-hostname (\S+)", service["command"]).group(1)  # type: ignore[union-attr]
        for name, service in compose["services"].items()
        if name.startswith("airflow-worker")
    ]
    assert len(names) == 2 and len(set(names)) == 2


def test_secrets_are_generated_not_empty() -> None:
    text = (REPO_ROOT / "docker-compose.yml").read_text()
    assert 'FERNET_KEY: ""' not in text and "FERNET_KEY: ''" not in text
    assert "_AIRFLOW_" not in text, "the image's entrypoint variables do nothing under a bash entrypoint"
    env_file = compose_env.filled((REPO_ROOT / ".env.example").read_text())
    values = dict(
        line.split("=", 1) for line in env_file.splitlines() if "=" in line and not line.startswith("#")
    )
    assert "GENERATED" not in values.values()
    Fernet(values["AIRFLOW_FERNET_KEY"].encode())  # raises on a malformed key
    assert len(values["KIBANA_ENCRYPTION_KEY"]) >= 32
    assert compose_env.filled("AIRFLOW_FERNET_KEY=GENERATED") != compose_env.filled(
        "AIRFLOW_FERNET_KEY=GENERATED"
    )


def test_the_ui_password_comes_from_env(compose: dict[str, Any]) -> None:
    init = compose["services"]["airflow-init"]
    assert init["environment"]["AIRFLOW_ADMIN_PASSWORD"].startswith("${AIRFLOW_ADMIN_PASSWORD:?")
    script = "\n".join(init["command"])
    passwords_file = compose["services"]["airflow-apiserver"]["environment"][
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
    ]
    assert passwords_file in script


def test_var_dir_is_on_a_volume(compose: dict[str, Any]) -> None:
    for spec in services.SERVICES:
        service = compose["services"][spec.name]
        targets = {volume.split(":")[1]: volume.split(":")[0] for volume in service["volumes"]}
        assert targets.get(service["environment"]["MUNIWATCH_VAR_DIR"]) in compose["volumes"]


def test_kibana_health_check_works_with_security_on(compose: dict[str, Any]) -> None:
    test = " ".join(compose["services"]["kibana"]["healthcheck"]["test"])
    assert "/api/status" not in test and "302 Found" in test


def test_the_reporters_endpoint_is_its_own_service(compose: dict[str, Any]) -> None:
    web = compose["services"]["muniwatch-web"]
    assert web["command"] == ["muniwatch", "serve", "--host", "0.0.0.0", "--port", "8090"]
    assert web["ports"] == ["127.0.0.1:8090:8090"]
    env = web["environment"]
    assert env["MUNIWATCH_DEPLOYMENT"] == "production"
    for required in ("MUNIWATCH_PUBLIC_URL", "MUNIWATCH_MAIL_FROM"):
        assert env[required].startswith(f"${{{required}:?"), f"{required} must be required"
        assert re.search(rf"^{required}=\S", (REPO_ROOT / ".env.example").read_text(), re.M)


def test_make_up_binds_the_airflow_ui_to_loopback(tmp_path: Path) -> None:
    from pipeline.local import stack
    from pipeline.settings import load_settings

    env = stack.airflow_environment(load_settings({"MUNIWATCH_VAR_DIR": str(tmp_path)}), demo=False)
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    distributed_env = distributed.airflow_environment(tmp_path, config_dir=tmp_path)
    assert distributed_env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert distributed_env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST"] == "127.0.0.1"


@pytest.mark.parametrize("spec", services.SERVICES, ids=lambda s: s.name)
def test_the_restart_policy_is_the_loopback_one(compose: dict[str, Any], spec: services.Service) -> None:
    # Loopback runs every Airflow process under pipeline.local.supervise, which always restarts it.
    assert compose["services"][spec.name].get("restart") == services.RESTART_POLICY
    assert distributed.airflow_processes(Path("var"))[spec.name].argv[1:3] == [
        "-m",
        "pipeline.local.supervise",
    ]
