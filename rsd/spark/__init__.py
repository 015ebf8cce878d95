"""rsd as a Spark data source (PySpark 4 Python Data Source API; `pip install 'rsd-profiles[spark]'`).

    from rsd.spark import RsdDataSource
    spark.dataSource.register(RsdDataSource)
    df = spark.read.format("rsd").option("profile", "Accounts.rsd").option("BaseURL", "...").load()

Owns: `plan.py` (options, schema types, partitions; no pyspark), `partition.py` (one partition on its executor:
rsd's runner, Arrow batches, redacted errors; no pyspark) and `source.py` (the pyspark classes). Must not: be
imported by anything else in rsd (it sits at the top of the pipeline, beside `rsd.jobs`), or ship a resolved
credential to an executor. See docs/spark.md.
"""
from __future__ import annotations

from typing import Any

__all__ = ["RsdDataSource"]


def __getattr__(name: str) -> Any:
    if name == "RsdDataSource":
        from .source import RsdDataSource
        return RsdDataSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
