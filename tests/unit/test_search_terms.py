"""Search terms and queries (pure): what a lead is found by and what a typed query looks for."""

from __future__ import annotations

import pytest

from leadrelay.search import QueryError, fold, name_words, parse_query, terms_for


def test_latin_accents_fold_but_indic_vowel_signs_stay() -> None:
    assert fold("José MÜLLER") == "jose muller"
    assert fold("आशा") == "आशा" and fold("ராமன்") == "ராமன்"


def test_zero_width_joiners_do_not_split_or_change_a_word() -> None:
    assert name_words("क्\u200dष") == name_words("क्ष")


def test_a_name_gives_at_most_four_words_of_two_letters_or_more() -> None:
    assert name_words("A. R. Rahman") == ["rahman"]
    assert len(name_words("one two three four five six")) == 4


@pytest.mark.parametrize("typed", ["98765 43210", "+91-98765-43210", "098765-43210", "(+91) 98765 43210"])
def test_every_indian_spelling_of_a_number_queries_the_same_term(typed: str) -> None:
    query = parse_query(typed)
    assert query.term.partition == "PHONE#+919876543210" and not query.prefix


def test_a_name_query_reads_by_its_longest_word_and_checks_the_others() -> None:
    query = parse_query("ra verma")
    assert query.term.value == "verma" and query.prefix and query.other_words == ("ra",)
    assert query.matches_name("Ravi Verma") and not query.matches_name("Suresh Verma")


def test_terms_cover_phone_email_and_name_words() -> None:
    kinds = [(t.kind, t.value) for t in terms_for("Asha Verma", "+919876543210", "A@B.in")]
    assert kinds == [("PHONE", "+919876543210"), ("EMAIL", "a@b.in"), ("NAME", "asha"), ("NAME", "verma")]


def test_a_query_too_short_to_search_is_refused() -> None:
    with pytest.raises(QueryError):
        parse_query("a")
