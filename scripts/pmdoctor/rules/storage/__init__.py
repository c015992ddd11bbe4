"""Storage partitions (settings, NVS, ZMS, LittleFS) and devicetree partitions under Partition Manager."""

from . import devicetree_partitions_ignored, storage_geometry, storage_partition_missing  # noqa: F401  (registers the rules)
