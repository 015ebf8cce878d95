"""`RsdDataSource`: the PySpark 4 Python Data Source that reads an API profile (`spark.read.format("rsd")`).

Owns: the pyspark classes (`DataSource`, `DataSourceReader`, `InputPartition`) and nothing else: options and
partitions come from `plan.py`, each partition runs in `partition.py`. Must not: resolve credentials where Spark
plans the read into anything Spark ships (the reader and its partitions are pickled to the executors: they hold the
options as written and page numbers).
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

try:
    from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
    from pyspark.sql.types import StructField, StructType
except ImportError as exc:  # pragma: no cover - depends on the install
    from ..errors import OptionError
    raise OptionError("rsd.spark needs PySpark 4, which is not installed",
                      hint="pip install 'rsd-profiles[spark]'") from exc

from ..sinks.columns import sink_columns
from .partition import probe_first_page, read_partition
from .plan import SPARK_TYPES, PartitionSpec, SourceOptions, plan_partitions


def spark_schema(source: SourceOptions) -> StructType:
    """`api:info`'s columns as a Spark schema (types from `plan.SPARK_TYPES`)."""
    from pyspark.sql import types

    from .. import api

    profile = api.load_text(source.profile_text, source.profile_name)
    columns = sink_columns(profile.info.columns if profile.info is not None else ())
    return StructType([StructField(c.name, getattr(types, SPARK_TYPES[c.type])(), True) for c in columns])


class RsdPartition(InputPartition):
    """One partition: a `plan.PartitionSpec` (inputs, page range)."""

    def __init__(self, spec: PartitionSpec):
        super().__init__(spec.index)
        self.spec = spec


class RsdReader(DataSourceReader):
    def __init__(self, source: SourceOptions):
        self.source = source
        self.note = ""

    def partitions(self) -> Sequence[InputPartition]:
        plan = plan_partitions(self.source, probe_first_page)
        self.note = plan.note
        return [RsdPartition(spec) for spec in plan.partitions]

    def read(self, partition: InputPartition) -> Iterator[Any]:
        spec = partition.spec if isinstance(partition, RsdPartition) else PartitionSpec(0, 1)
        return read_partition(self.source, spec)


class RsdDataSource(DataSource):
    """`spark.dataSource.register(RsdDataSource)`, then `spark.read.format("rsd").option("profile", ...)`."""

    @classmethod
    def name(cls) -> str:
        return "rsd"

    def _source(self) -> SourceOptions:
        return SourceOptions.parse(dict(self.options))

    def schema(self) -> StructType:
        return spark_schema(self._source())

    def reader(self, schema: StructType) -> DataSourceReader:
        return RsdReader(self._source())
