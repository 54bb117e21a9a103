"""Numbers a provider may send in `extra` that DynamoDB cannot hold are kept as text, not a 5xx."""

from __future__ import annotations

import pytest

from leadrelay.store.dynamo import to_value


@pytest.mark.parametrize(
    ("value", "stored"),
    [(1.5, {"N": "1.5"}), (150000, {"N": "150000"}), (0.0, {"N": "0.0"}), (2.2250738585e-313, {"S": "2.2250738585e-313"}),
     (1.7976931348623157e308, {"S": "1.7976931348623157e+308"}), (float("inf"), {"S": "inf"}),
     (10**40, {"S": str(10**40)})],
)  # fmt: skip
def test_out_of_range_numbers_become_text(value: float, stored: dict[str, str]) -> None:
    assert to_value(value) == stored
