# The image every Airflow service of docker-compose.yml runs: Airflow 3.3 with muniwatch installed.
# Keep the base tag in step with the apache-airflow pin in pyproject.toml (a test checks it).
FROM apache/airflow:3.3.2-python3.11

USER root
# trafilatura/lxml wheels are self-contained; curl is for health checks in compose.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
USER airflow

WORKDIR /opt/muniwatch
COPY --chown=airflow:root pyproject.toml requirements.lock README.md ./
COPY --chown=airflow:root pipeline ./pipeline
# The lock pins the exact versions CI tested; Airflow's own packages are already in the base image.
RUN pip install --no-cache-dir -r requirements.lock \
 && pip install --no-cache-dir --no-deps .

COPY --chown=airflow:root config ./config
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
