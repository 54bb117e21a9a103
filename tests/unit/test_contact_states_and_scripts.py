"""State names → ISO 3166-2:IN codes (old names and codes too); language hints from Indic scripts."""

from __future__ import annotations

import pytest

from leadrelay.models.contact import STATE_NAMES, language_from_script, normalize_state


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Karnataka", ("Karnataka", "KA")), ("  tamil   nadu ", ("Tamil Nadu", "TN")), ("Orissa", ("Odisha", "OD")),
        ("Pondicherry", ("Puducherry", "PY")), ("Uttaranchal", ("Uttarakhand", "UK")), ("UT", ("Uttarakhand", "UK")),
        ("CT", ("Chhattisgarh", "CG")), ("OR", ("Odisha", "OD")), ("DD", ("Dadra and Nagar Haveli and Daman and Diu", "DH")),
        ("IN-MH", ("Maharashtra", "MH")), ("ka", ("Karnataka", "KA")), ("NCT of Delhi", ("Delhi", "DL")),
        ("J&K", ("Jammu and Kashmir", "JK")), ("Telangana", ("Telangana", "TS")), ("TG", ("Telangana", "TS")),
    ],
)  # fmt: skip
def test_state_names_old_names_and_codes_become_the_official_name_and_iso_code(
    raw: str, expected: tuple[str, str]
) -> None:
    assert normalize_state(raw) == expected


def test_every_official_name_maps_to_its_own_code_and_unknown_text_is_left_alone() -> None:
    assert all(normalize_state(name) == (name, code) for code, name in STATE_NAMES.items())
    assert len(STATE_NAMES) == 36
    assert normalize_state("Bombay") is None and normalize_state("") is None and normalize_state(None) is None


@pytest.mark.parametrize(
    ("texts", "language"),
    [
        (("राहुल शर्मा",), "hi"), (("முருகன்",), "ta"), (("వెంకట్",), "te"), (("ಕಾರ್ತಿಕ್",), "kn"),
        (("അർജുൻ",), "ml"), (("મીરા પટેલ",), "gu"), (("সৌরভ",), "bn"), (("ਹਰਪ੍ਰੀਤ",), "pa"), (("ସୁଭାଷ",), "or"),
        (("Rahul", "मुझे 2BHK चाहिए"), "hi"), (("Rahul Sharma", None), None), ((), None),
    ],
)  # fmt: skip
def test_the_script_of_the_name_or_message_hints_the_language(
    texts: tuple[str | None, ...], language: str | None
) -> None:
    assert language_from_script(*texts) == language
