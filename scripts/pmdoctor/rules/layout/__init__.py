"""Layout arithmetic: overlaps, bounds, alignment, containers, gaps, empty partitions."""

from . import (  # noqa: F401  (registers the rules)
    container_mismatch,
    empty_partition,
    partition_misaligned,
    partition_out_of_bounds,
    partition_overlap,
    static_gaps,
)
