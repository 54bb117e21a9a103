"""The local stream filter matches records exactly as Lambda's EventBridge-style filter criteria do."""

from __future__ import annotations

import pytest

from leadrelay import definitions
from leadrelay.local.patterns import PatternError, matches, matches_any


def _lead_insert(**image: dict) -> dict:
    return {"eventName": "INSERT", "dynamodb": {"NewImage": image}}


def test_exact_values_in_an_array_match_any_of_them():
    assert matches({"eventName": ["INSERT", "MODIFY"]}, {"eventName": "MODIFY"})
    assert not matches({"eventName": ["INSERT", "MODIFY"]}, {"eventName": "REMOVE"})


def test_a_field_the_event_lacks_does_not_match_an_exact_value():
    assert not matches({"eventName": ["INSERT"]}, {"other": "INSERT"})


def test_numbers_compare_numerically_and_null_matches_null_only():
    assert matches({"n": [5]}, {"n": 5.0})
    assert not matches({"n": [5]}, {"n": "5"})
    assert matches({"n": [None]}, {"n": None})
    assert not matches({"n": [None]}, {"n": "null"})
    assert not matches({"flag": [1]}, {"flag": True})


def test_nested_objects_match_field_by_field():
    pattern = {"dynamodb": {"NewImage": {"sk": {"S": ["LEAD"]}}}}
    assert matches(pattern, {"dynamodb": {"NewImage": {"sk": {"S": "LEAD"}, "x": {"N": "1"}}}})
    assert not matches(pattern, {"dynamodb": {"NewImage": {"sk": {"S": "TIMELINE"}}}})
    assert not matches(pattern, {"dynamodb": {"OldImage": {"sk": {"S": "LEAD"}}}})
    assert not matches(pattern, {"dynamodb": "LEAD"})


def test_an_event_array_matches_when_any_element_does():
    assert matches({"tags": ["hot"]}, {"tags": ["cold", "hot"]})
    assert not matches({"tags": ["hot"]}, {"tags": ["cold"]})


def test_exists_true_and_false():
    assert matches({"a": [{"exists": True}]}, {"a": "x"})
    assert not matches({"a": [{"exists": True}]}, {"b": "x"})
    assert matches({"a": [{"exists": False}]}, {"b": "x"})
    assert not matches({"a": [{"exists": False}]}, {"a": "x"})
    # exists: false on a nested field whose parent is absent also matches
    assert matches({"dynamodb": {"OldImage": [{"exists": False}]}}, {"eventName": "INSERT"})


def test_prefix_and_suffix():
    assert matches({"sk": [{"prefix": "LEAD"}]}, {"sk": "LEAD#1"})
    assert not matches({"sk": [{"prefix": "LEAD"}]}, {"sk": "TL#LEAD"})
    assert not matches({"sk": [{"prefix": "1"}]}, {"sk": 12})
    assert matches({"sk": [{"prefix": {"equals-ignore-case": "lead"}}]}, {"sk": "LEAD#1"})
    assert matches({"f": [{"suffix": ".png"}]}, {"f": "a.png"})
    assert not matches({"f": [{"suffix": ".png"}]}, {"f": "a.jpg"})


def test_anything_but():
    assert matches({"state": [{"anything-but": ["assigned", "closed"]}]}, {"state": "pending"})
    assert not matches({"state": [{"anything-but": ["assigned", "closed"]}]}, {"state": "closed"})
    assert matches({"state": [{"anything-but": "closed"}]}, {"state": "open"})
    assert matches({"sk": [{"anything-but": {"prefix": "TL#"}}]}, {"sk": "LEAD"})
    assert not matches({"sk": [{"anything-but": {"prefix": "TL#"}}]}, {"sk": "TL#1"})
    # anything-but needs the field to be there
    assert not matches({"state": [{"anything-but": ["closed"]}]}, {})


def test_numeric_ranges():
    pattern = {"score": [{"numeric": [">", 10, "<=", 20]}]}
    assert matches(pattern, {"score": 15})
    assert matches(pattern, {"score": 20})
    assert not matches(pattern, {"score": 10})
    assert not matches(pattern, {"score": "15"})
    assert matches({"score": [{"numeric": ["=", 3]}]}, {"score": 3.0})


def test_equals_ignore_case_and_wildcard():
    assert matches({"city": [{"equals-ignore-case": "pune"}]}, {"city": "PUNE"})
    assert matches({"arn": [{"wildcard": "arn:*:table/leads*"}]}, {"arn": "arn:aws:table/leads/stream"})
    assert not matches({"arn": [{"wildcard": "arn:*:table/leads"}]}, {"arn": "arn:aws:table/org"})


def test_fields_are_anded_and_patterns_are_ored():
    pattern = {"a": ["1"], "b": ["2"]}
    assert matches(pattern, {"a": "1", "b": "2"})
    assert not matches(pattern, {"a": "1", "b": "3"})
    assert matches_any([{"a": ["x"]}, {"b": ["2"]}], {"a": "1", "b": "2"})
    assert not matches_any([], {"a": "1"})


def test_malformed_patterns_are_refused():
    with pytest.raises(PatternError):
        matches({"a": "INSERT"}, {"a": "INSERT"})
    with pytest.raises(PatternError):
        matches({"a": [{"numeric": [">"]}]}, {"a": 1})
    with pytest.raises(PatternError):
        matches({"a": [{"regex": "x"}]}, {"a": "x"})


def test_the_route_filter_lets_a_new_pending_lead_through():
    record = _lead_insert(pk={"S": "LEAD#1"}, sk={"S": "LEAD"}, routing_state={"S": "pending"})
    assert matches_any(definitions.ROUTE_STREAM.filter_patterns, record)


def test_the_route_filter_drops_timeline_items_assigned_leads_and_removals():
    timeline = _lead_insert(pk={"S": "LEAD#1"}, sk={"S": "TL#2026-11-23T06:30:00.000Z"})
    assigned = {
        "eventName": "MODIFY",
        "dynamodb": {"NewImage": {"sk": {"S": "LEAD"}, "routing_state": {"S": "assigned"}}},
    }
    removed = {"eventName": "REMOVE", "dynamodb": {"OldImage": {"sk": {"S": "LEAD"}}}}
    for record in (timeline, assigned, removed):
        assert not matches_any(definitions.ROUTE_STREAM.filter_patterns, record)
