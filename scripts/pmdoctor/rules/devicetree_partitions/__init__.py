"""Devicetree-era builds (Partition Manager off) and the Partition Manager → devicetree migration."""

from . import (  # noqa: F401  (registers the rules)
    code_partition_wrong,
    images_disagree_on_partitions,
    migration_layout_drift,
    partition_manager_deprecated,
    partition_manager_leftovers,
)
