"""muniwatch: watch news feeds and social accounts for local-government decisions on
cooperation with federal immigration enforcement.

Every step of the pipeline lives here as plain typed Python with no Airflow import;
``dags/`` only wires these steps into Airflow.
"""

__version__ = "0.1.0"
