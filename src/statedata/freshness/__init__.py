"""Freshness: when each dataset is due for an update and whether it is on time; reminders,
retirement of datasets past saving, and the metadata quality and high-value priority scores."""

from statedata.freshness.status import Evaluation, Freshness, due_date, evaluate

__all__ = ["Evaluation", "Freshness", "due_date", "evaluate"]
