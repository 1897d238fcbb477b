"""Usage counts and, later, every metric of the plan, computed from the other parts."""

from statedata.metrics.usage import UsageCounter, usage_totals

__all__ = ["UsageCounter", "usage_totals"]
