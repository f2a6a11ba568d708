"""New rows as plain data: what the Core write path inserts, read by attribute like the models.

A row is a dict of exactly its table's columns (the insert's parameters as they are), and its
columns also read as attributes, so the response schemas and the event builders take it where
they take a model. Building one costs a dict; building an ORM instance costs ~200 µs.
"""

from __future__ import annotations

from typing import Any

from chassis.auth import path_codes


class Row(dict[str, Any]):
    """A table row: its columns as keys, and as attributes for readers written for models."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class HistoryRow(Row):
    id = None  # given by the database; ordering an unsaved history falls back to 0


class NewInitiative(Row):
    """An `initiatives` row with its authors' rows and its history, as the submit answer shows it."""

    def __init__(self, columns: dict[str, Any], authors: list[Row]) -> None:
        super().__init__(columns)
        self.authors = authors
        self.history: list[HistoryRow] = []

    @property
    def path_codes(self) -> list[str]:
        return path_codes(self["unit_path"])

    @property
    def author_ids(self) -> list[str | None]:
        return [a["member_id"] for a in self.authors]
