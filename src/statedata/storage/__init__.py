"""Dataset rows as immutable Parquet versions: publish (replace, append, upsert), retention,
and reading the current version back out.
"""

from statedata.storage.versions import Mode, NewDataset, PublishResult, apply_retention, publish

__all__ = ["Mode", "NewDataset", "PublishResult", "apply_retention", "publish"]
