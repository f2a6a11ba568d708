"""A PNG chart of progress against targets: initiatives submitted vs the registered target, per unit.

The numbers come from the read model (`totals`, whole programme), never from the initiatives.
Drawn with matplotlib's Agg canvas on a Figure of its own (no pyplot, no global state), at a
size fixed by the number of units, so the same data gives the same picture.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from awards import params
from awards.models import ALL_PHASES, Total, Unit
from awards.queries import READERS
from chassis.auth import Principal
from chassis.errors import NotFound
from chassis.validation import FieldError, validation_failed

DPI = 100
WIDTH_PX = 1000
ROW_PX = 28  # per unit
FRAME_PX = 150  # title, legend and axis
SUBMITTED_COLOUR = "#c0392b"
TARGET_COLOUR = "#d5d8dc"
ABBREVIATIONS = (  # the usual short forms, so names fit beside the bars
    ("Liên đoàn Lao động", "LĐLĐ"),
    ("Công đoàn cơ sở", "CĐCS"),
    ("Công đoàn", "CĐ"),
    ("Công ty Trách nhiệm hữu hạn", "Công ty TNHH"),
    ("Công ty Cổ phần", "Công ty CP"),
)
LABEL_CHARS = 42


@dataclass(frozen=True)
class Bar:
    unit: str
    name: str | None
    submitted: int
    target: int

    @property
    def progress(self) -> float | None:
        return round(100.0 * self.submitted / self.target, 1) if self.target > 0 else None

    @property
    def label(self) -> str:
        return f"{short_name(self.name)} ({self.unit})" if self.name else self.unit


def short_name(name: str | None) -> str:
    text = name or ""
    for long, short in ABBREVIATIONS:
        text = text.replace(long, short)
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def percent(bar: Bar) -> str:
    """Vietnamese decimals use a comma: 75,5%."""
    return "chưa có chỉ tiêu" if bar.progress is None else f"{bar.progress:.1f}%".replace(".", ",")


def ordered(bars: list[Bar]) -> list[Bar]:
    """Furthest along first; units without a target last; then by count and code, for a stable order."""
    return sorted(bars, key=lambda b: (b.progress is None, -(b.progress or 0), -b.submitted, b.unit))


def size(units: int) -> tuple[int, int]:
    """Pixels (width, height) of the chart of this many units."""
    return WIDTH_PX, FRAME_PX + ROW_PX * max(units, 1)


def figure(bars: list[Bar], title: str) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = size(len(bars))
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    # Margins in pixels, not fractions, so the frame looks the same for 3 units or 60.
    fig.subplots_adjust(left=0.36, right=0.9, top=1 - 80 / height, bottom=45 / height)
    ax = fig.add_subplot()
    rows = list(range(len(bars)))
    ax.barh(rows, [b.target for b in bars], height=0.8, color=TARGET_COLOUR, label="Chỉ tiêu")
    ax.barh(rows, [b.submitted for b in bars], height=0.45, color=SUBMITTED_COLOUR, label="Đã gửi")
    top = max([b.target for b in bars] + [b.submitted for b in bars] + [1])
    for row, bar in zip(rows, bars, strict=True):
        ax.text(max(bar.target, bar.submitted) + top * 0.01, row, percent(bar), va="center", fontsize=8)
    ax.set_yticks(rows, [b.label for b in bars], fontsize=8)
    ax.set_ylim(len(bars) - 0.5 if bars else 0.5, -0.5)  # the first unit on top
    ax.set_xlim(0, top * 1.15)
    ax.set_xlabel("Số sáng kiến")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2, fontsize=8, frameon=False)
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)
    fig.suptitle(title, fontsize=11, x=0.02, ha="left")
    return fig


def png(bars: list[Bar], title: str) -> bytes:
    buffer = io.BytesIO()
    description = "; ".join(f"{b.unit} {b.submitted}/{b.target}" for b in bars)
    figure(bars, title).savefig(
        buffer, format="png", dpi=DPI, metadata={"Title": title, "Description": description, "Software": None}
    )
    return buffer.getvalue()


def title(programme: str, unit: Unit | None) -> str:
    where = f"{unit.name}: các đơn vị trực thuộc" if unit else "Các đơn vị trực thuộc Tổng Liên đoàn Lao động Việt Nam"
    return f"Tiến độ thực hiện chỉ tiêu sáng kiến — chương trình {programme}\n{where}"


def bars(session: Session, programme: str, unit: Unit | None) -> list[Bar]:
    """The units under `unit` (a grassroots union: itself), or the top-level units nationally."""
    if unit is None:
        registry = list(session.scalars(select(Unit).where(Unit.level == "top")))
        known = Total.level == "top"
    else:
        registry = list(session.scalars(select(Unit).where(Unit.parent == unit.code)))
        known = Total.parent == unit.code
        if not registry and unit.level == "grassroots":
            registry, known = [unit], Total.unit == unit.code
    names = {u.code: u.name for u in registry}
    totals = {
        t.unit: t
        for t in session.scalars(
            select(Total).where(
                Total.programme == programme, Total.phase == ALL_PHASES, or_(Total.unit.in_(list(names)), known)
            )
        )
    }
    out = []
    for code in sorted(set(names) | set(totals)):
        t = totals.get(code)
        out.append(Bar(code, names.get(code), t.submitted if t else 0, t.target if t else 0))
    return ordered(out)


def progress_png(session: Session, principal: Principal, args: Any) -> bytes:
    principal.require(READERS)
    errors: list[FieldError] = []
    programme = params.programme(args, errors)
    code = params.unit(args, errors)
    if errors:
        raise validation_failed(errors)
    assert programme is not None
    unit = session.get(Unit, code) if code else None
    if code and unit is None:
        raise NotFound("No such unit.", "Không có đơn vị này.")
    return png(bars(session, programme, unit), title(programme, unit))
