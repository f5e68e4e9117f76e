"""Airflow for the end-to-end tests: its own AIRFLOW_HOME, SQLite metadata DB, the repo's DAGs.

Airflow reads AIRFLOW_HOME, the DB URL and the plugins folder when it is first imported, so they
are set here, when pytest collects this directory — before any test module imports Airflow.
The DB is migrated once per session (``airflow db migrate``, ~5-10 s), only when a test asks
for it through the ``airflow_db`` fixture.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.settings import REPO_ROOT

DAGS_DIR = REPO_ROOT / "dags"
PLUGINS_DIR = REPO_ROOT / "plugins"
POOLS_FILE = REPO_ROOT / "config" / "airflow" / "pools.json"


def configure_airflow_environment() -> Path:
    """Idempotent: point Airflow at a throw-away home and at the repository's dags/ and plugins/."""
    if "MUNIWATCH_TEST_AIRFLOW_HOME" not in os.environ:
        home = Path(tempfile.mkdtemp(prefix="mw-airflow-"))
        atexit.register(shutil.rmtree, home, True)
        os.environ["MUNIWATCH_TEST_AIRFLOW_HOME"] = str(home)
        os.environ["AIRFLOW_HOME"] = str(home)
        os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home}/airflow.db"
        os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_DIR)
        os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(PLUGINS_DIR)
        os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
    # What Airflow's DAG bundle and plugin loading do in a real deployment.
    for folder in (str(PLUGINS_DIR), str(DAGS_DIR)):
        if folder not in sys.path:
            sys.path.append(folder)
    return Path(os.environ["MUNIWATCH_TEST_AIRFLOW_HOME"])


AIRFLOW_HOME = configure_airflow_environment()


@pytest.fixture(scope="session")
def airflow_db() -> Iterator[Path]:
    """A migrated metadata DB with the project's pools."""
    airflow = str(Path(sys.executable).parent / "airflow")
    for command in (["db", "migrate"], ["pools", "import", str(POOLS_FILE)]):
        done = subprocess.run(
            [airflow, *command],
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"airflow {' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    yield AIRFLOW_HOME


def connection_json(**fields: object) -> str:
    """An ``AIRFLOW_CONN_*`` value (Airflow accepts JSON there)."""
    return json.dumps(fields)
