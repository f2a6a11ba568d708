"""Similar-initiative flags for a batch of arriving texts, with one band look-up for all of them.

One by one, an arriving text is compared with the 50 initiatives sharing most band keys with
it, and the five most similar of its top unit are kept. A batch asks the database once for
every text's candidates among the initiatives outside the batch, then replays the batch in
order in memory, where an initiative of the batch is a candidate with the text it has at that
moment: a text earlier in the batch is seen by a later one, as it would be one by one.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    String,
    bindparam,
    column,
    delete,
    func,
    insert,
    select,
    text,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from review import similarity
from review.models import Case, SimilarityBand, SimilarMatch

CANDIDATES = 50  # the initiatives sharing most band keys with a text, scored against it
KEPT = 5  # the most similar of them, flagged
POSTINGS_PER_BAND = 50  # initiatives read per band key on PostgreSQL (see _PG_BEST_OUTSIDE)
TEXT_KEYS = ("problem", "solution", "novelty")  # with the title: the text compared

cases, bands, matches = Case.__table__, SimilarityBand.__table__, SimilarMatch.__table__


class Indexed(NamedTuple):  # a tuple: thousands of candidates a batch are built
    """An initiative as the band index sees it: where it sits, its signature, its band keys."""

    unit_path: str
    signature: list[int] | None
    keys: frozenset[int]


@dataclass(frozen=True)
class Arrival:
    """Content arriving for an initiative, in batch order.

    Not `flagged`: content kept after a withdrawal, neither indexed nor compared, though the
    initiative's place (its unit path) changes with it.
    """

    initiative_id: str
    unit_path: str
    flagged: bool
    prefix: str = ""  # the subtree searched for similar initiatives: the root and the top unit
    signature: tuple[int, ...] = ()
    keys: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Flags:
    """An initiative's band keys and its similar initiatives (id, score), most similar first."""

    signature: tuple[int, ...]
    keys: frozenset[int]
    matches: list[tuple[str, float]]


def arrival(data: dict[str, Any], flagged: bool) -> Arrival:
    """What similarity takes from an `initiative.submitted` or `.resubmitted` event's data."""
    codes = data["unit_path"]
    unit_path = "/" + "/".join(codes) + "/"
    if not flagged:
        return Arrival(data["initiative_id"], unit_path, False)
    sig = similarity.signature(similarity.text_of([data["title"], *(data.get(k) for k in TEXT_KEYS)]))
    return Arrival(
        data["initiative_id"],
        unit_path,
        True,
        f"/{codes[0]}/{data['top_unit']}/",
        tuple(sig),
        frozenset(similarity.bands(sig)),
    )


def flag(session: Session, arrivals: Sequence[Arrival], known: dict[str, dict[str, Any]]) -> dict[str, Flags]:
    """Each flagged initiative's last flags in the batch, as handling the arrivals one by one gives.

    `known`: the batch's case rows as they were before it (signature, unit path), by id.
    """
    if not any(a.flagged for a in arrivals):
        return {}
    inside = {a.initiative_id for a in arrivals}
    outside = _best_outside(session, arrivals, inside)
    others = _indexed(session, {other for found in outside.values() for other, _ in found})
    return replay(arrivals, _before(session, inside, known), outside, others)


def store(session: Session, flags: dict[str, Flags], replaced: Sequence[str]) -> None:
    """The flagged initiatives' band keys and matches; those of `replaced` (an earlier text) go first."""
    if replaced:
        session.execute(delete(bands).where(bands.c.initiative_id.in_(sorted(replaced))))
        session.execute(delete(matches).where(matches.c.initiative_id.in_(sorted(replaced))))
    ids = sorted(flags)
    keyed = [(key, i) for i in ids for key in sorted(flags[i].keys)]
    if keyed and session.get_bind().dialect.name == "postgresql":  # two arrays: no per-row work here
        session.execute(_PG_BANDS, {"band_key": [k for k, _ in keyed], "initiative_id": [i for _, i in keyed]})
    elif keyed:
        session.execute(insert(bands), [{"band_key": k, "initiative_id": i} for k, i in keyed])
    found = [{"initiative_id": i, "other_id": o, "score": score} for i in ids for o, score in flags[i].matches]
    if found:
        session.execute(insert(matches), found)


def replay(
    arrivals: Sequence[Arrival],
    before: dict[str, Indexed],
    outside: dict[int, list[tuple[str, int]]],
    others: dict[str, Indexed],
) -> dict[str, Flags]:
    """The one-by-one order in memory.

    `before`: the batch's own initiatives as indexed before the batch; `outside[i]`: the best
    candidates of arrival `i` among all other initiatives, with the band keys each shares;
    `others`: those candidates.
    """
    now = dict(before)
    holders: dict[int, set[str]] = defaultdict(set)  # band key -> the batch's initiatives holding it now
    for initiative_id, indexed in before.items():
        for key in indexed.keys:
            holders[key].add(initiative_id)
    flags: dict[str, Flags] = {}
    for i, came in enumerate(arrivals):
        current = now.get(came.initiative_id)
        if not came.flagged:
            if current is not None:
                now[came.initiative_id] = current._replace(unit_path=came.unit_path)
            continue
        shared = Counter(o for key in came.keys for o in holders.get(key, ()) if o != came.initiative_id)
        ranked = sorted([*outside.get(i, ()), *shared.items()], key=lambda c: (-c[1], c[0]))[:CANDIDATES]
        scored = []
        for other, _ in ranked:
            seen = now.get(other) or others.get(other)
            if seen is not None and seen.signature and seen.unit_path.startswith(came.prefix):
                score = similarity.similarity(list(came.signature), seen.signature)
                if score >= similarity.FLAG_AT:
                    scored.append((other, score))
        scored.sort(key=lambda s: (-s[1], s[0]))
        flags[came.initiative_id] = Flags(came.signature, came.keys, scored[:KEPT])
        for key in current.keys if current is not None else ():
            holders[key].discard(came.initiative_id)
        for key in came.keys:
            holders[key].add(came.initiative_id)
        now[came.initiative_id] = Indexed(came.unit_path, list(came.signature), came.keys)
    return flags


def _best_outside(session: Session, arrivals: Sequence[Arrival], inside: set[str]) -> dict[int, list[tuple[str, int]]]:
    """Per flagged arrival, the CANDIDATES initiatives outside the batch sharing most keys with it.

    One statement for the batch: the probe (arrival, key) pairs joined with the band index,
    counted per arrival and initiative, ranked within each arrival (ties by id).
    """
    pairs = [(i, key) for i, a in enumerate(arrivals) if a.flagged for key in a.keys]
    if session.get_bind().dialect.name == "postgresql":  # two array parameters, compiled once
        params = {
            "i": [i for i, _ in pairs],
            "band_key": [k for _, k in pairs],
            "inside": sorted(inside),
            "per_band": POSTINGS_PER_BAND,
            "candidates": CANDIDATES,
        }
        found_rows = session.execute(_PG_BEST_OUTSIDE, params)
    else:  # SQLite (a local run): the pairs as a VALUES list
        probe = values(column("i", Integer), column("band_key", BigInteger), name="probe").data(pairs).cte("probe")
        found_rows = session.execute(_best(probe, bands.c.initiative_id.not_in(inside)))
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for i, other, count in found_rows:
        found[i].append((other, count))
    return found


def _best(probe: Any, outside: Any) -> Select[Any]:
    """Per probe `i`, the initiatives `outside` sharing most of its band keys, best first."""
    shared = func.count()
    ranked = (
        select(
            probe.c.i,
            bands.c.initiative_id,
            shared.label("shared"),
            func.row_number()
            .over(partition_by=probe.c.i, order_by=(shared.desc(), bands.c.initiative_id))
            .label("rank"),
        )
        .join_from(probe, bands, bands.c.band_key == probe.c.band_key)
        .where(outside)
        .group_by(probe.c.i, bands.c.initiative_id)
        .subquery()
    )
    return select(ranked.c.i, ranked.c.initiative_id, ranked.c.shared).where(ranked.c.rank <= CANDIDATES)


_PG_BANDS = insert(bands).from_select(
    ["band_key", "initiative_id"],
    select(
        func.unnest(bindparam("band_key", type_=ARRAY(BigInteger)), bindparam("initiative_id", type_=ARRAY(String)))
        .table_valued(column("band_key", BigInteger), column("initiative_id", String))
        .render_derived(name="keyed")
    ),
)
# Per probe (arrival, key), at most POSTINGS_PER_BAND initiatives holding the key, by the index:
# a band most initiatives share (copies of one text, a campaign's template) says little, and
# reading all its postings made every look-up read the whole index (a growing cost per event).
_PG_BEST_OUTSIDE = text(
    """
WITH probe AS (SELECT * FROM unnest(CAST(:i AS INTEGER[]), CAST(:band_key AS BIGINT[])) AS p(i, band_key)),
hits AS (
  SELECT probe.i, posting.initiative_id FROM probe CROSS JOIN LATERAL (
    SELECT b.initiative_id FROM similarity_bands AS b
    WHERE b.band_key = probe.band_key AND b.initiative_id <> ALL(CAST(:inside AS VARCHAR[]))
    ORDER BY b.initiative_id LIMIT :per_band) AS posting
),
counted AS (
  SELECT i, initiative_id, count(*) AS shared,
         row_number() OVER (PARTITION BY i ORDER BY count(*) DESC, initiative_id) AS rank
  FROM hits GROUP BY i, initiative_id
)
SELECT i, initiative_id, shared FROM counted WHERE rank <= :candidates
"""
)


def _indexed(session: Session, ids: Iterable[str]) -> dict[str, Indexed]:
    """Candidates' places and signatures (their keys are not needed: they were counted already)."""
    ids = sorted(ids)
    if not ids:
        return {}
    rows = session.execute(
        select(cases.c.initiative_id, cases.c.unit_path, cases.c.signature).where(cases.c.initiative_id.in_(ids))
    )
    return {i: Indexed(path, similarity.decode(raw) if raw else None, frozenset()) for i, path, raw in rows}


def _before(session: Session, inside: set[str], known: dict[str, dict[str, Any]]) -> dict[str, Indexed]:
    """The batch's own initiatives as the index held them before the batch."""
    signed = sorted(i for i in inside if i in known and known[i]["signature"])
    if not signed:
        return {}
    keys: dict[str, set[int]] = defaultdict(set)
    for initiative_id, key in session.execute(
        select(bands.c.initiative_id, bands.c.band_key).where(bands.c.initiative_id.in_(signed))
    ):
        keys[initiative_id].add(key)
    return {
        i: Indexed(known[i]["unit_path"], similarity.decode(known[i]["signature"]), frozenset(keys[i])) for i in signed
    }
