"""Similarity of Vietnamese texts, with and without diacritics, by MinHash signatures."""

from __future__ import annotations

import random

from review import similarity

WELDING = "Cải tiến đồ gá hàn giúp giảm thời gian thao tác tại phân xưởng cơ khí"
WELDING_PLAIN = "Cai tien do ga han giup giam thoi gian thao tac tai phan xuong co khi"
WAREHOUSE = "Phần mềm quản lý kho vật tư bằng mã vạch cho công ty may"


def test_folding_removes_diacritics_and_case() -> None:
    assert similarity.fold("Đường ỐNG Cải Tiến") == "duong ong cai tien"
    assert similarity.shingles(WELDING) == similarity.shingles(WELDING_PLAIN)


def test_the_same_text_with_or_without_diacritics_is_identical() -> None:
    assert similarity.similarity(similarity.signature(WELDING), similarity.signature(WELDING_PLAIN)) == 1.0


def test_unrelated_texts_score_low_and_a_variant_scores_high() -> None:
    welding = similarity.signature(WELDING)
    assert similarity.similarity(welding, similarity.signature(WAREHOUSE)) < 0.15
    variant = similarity.signature(WELDING + " của công ty")
    assert similarity.similarity(welding, variant) > 0.6


def test_the_estimate_follows_the_true_jaccard_similarity() -> None:
    rng = random.Random(7)
    words = [f"tu{i}" for i in range(400)]
    errors = []
    for _ in range(40):
        a = rng.sample(words, 120)
        b = a[:80] + rng.sample(words, 40)
        sa, sb = similarity.shingles(" ".join(a)), similarity.shingles(" ".join(b))
        truth = len(sa & sb) / len(sa | sb)
        estimate = similarity.similarity(similarity.signature(" ".join(a)), similarity.signature(" ".join(b)))
        errors.append(abs(truth - estimate))
    assert sum(errors) / len(errors) < 0.08


def test_similar_texts_share_a_band_and_signatures_round_trip() -> None:
    a, b = similarity.signature(WELDING), similarity.signature(WELDING_PLAIN + " nhanh")
    assert set(similarity.bands(a)) & set(similarity.bands(b))
    assert similarity.decode(similarity.encode(a)) == a
    assert all(-(2**63) <= k < 2**63 for k in similarity.bands(a))


def test_an_empty_text_is_similar_to_nothing() -> None:
    empty = similarity.signature("")
    assert similarity.similarity(empty, empty) == 0.0
