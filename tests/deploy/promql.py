"""Metric and label names used by a PromQL expression (enough of PromQL for our rules and dashboards)."""

from __future__ import annotations

import re

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{([^}]*)\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_LABEL_LIST = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_IDENT = re.compile(r"(?<![\w:.$])[a-zA-Z_:][\w:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def _without_strings(expr: str) -> str:
    return _STRING.sub('""', expr)


def metric_names(expr: str) -> set[str]:
    text = _LABEL_LIST.sub(" ", _RANGE.sub("", _MATCHERS.sub("", _without_strings(expr))))
    names = set()
    for match in _IDENT.finditer(text):
        follows = text[match.end() :].lstrip()
        if not follows.startswith("(") and match.group(0).lower() not in _KEYWORDS:
            names.add(match.group(0))
    return names


def label_names(expr: str) -> set[str]:
    """Labels in selectors and in by/without/on/ignoring/group lists."""
    text = _without_strings(expr)
    labels = {m for body in _MATCHERS.findall(text) for m in re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", body)}
    for _, body in _LABEL_LIST.findall(text):
        labels |= {part.strip() for part in body.split(",") if part.strip()}
    return labels
