"""The dashboard's time histograms: log-scale buckets 2% wide, so a percentile read from one is within
about 1% of the exact one."""

from __future__ import annotations

import math
from collections import Counter

BASE = 1.02  # histogram bucket width: a value v falls in bucket floor(log_BASE(v)), v < 1 s in bucket 0


def percentile(histogram: Counter[str], share: float) -> float | None:
    """percentile_cont over the histogram, each bucket's values taken at its geometric middle."""
    buckets = sorted((int(bucket), n) for bucket, n in histogram.items())
    count = sum(n for _, n in buckets)
    if not count:
        return None

    def value_at(index: int) -> float:
        seen = 0
        for bucket, n in buckets:
            seen += n
            if index < seen:
                return BASE ** (bucket + 0.5) if bucket else 1.0
        raise AssertionError(index)

    position = share * (count - 1)
    low = math.floor(position)
    lower = value_at(low)
    upper = value_at(min(low + 1, count - 1))
    return round(lower + (upper - lower) * (position - low), 1)
