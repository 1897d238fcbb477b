"""Socrata-style "4x4" dataset ids: `abcd-1234`, stable for the life of a dataset."""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"
FOUR_BY_FOUR = re.compile(rf"^[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")


def new_dataset_id() -> str:
    """A fresh random id; the catalog checks it is unused."""
    group = lambda: "".join(secrets.choice(ALPHABET) for _ in range(4))  # noqa: E731
    return f"{group()}-{group()}"


def is_dataset_id(text: str) -> bool:
    return bool(FOUR_BY_FOUR.match(text))
