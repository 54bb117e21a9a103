"""How the docs test reads Markdown and compares outputs (tests/doc_blocks.py): what may differ from
run to run is masked, everything else must match, so a drifted doc fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.doc_blocks import marked_blocks, mask, output_matches, text_matches, unmarked_blocks

DOC = """# A doc

<!-- doc-test -->
```bash
LOCAL=.leadrelay/local.json
```

Some words.

<!-- doc-test -->
```bash
curl -s "$API/leads/$LEAD"
```

```json
{"lead_id": "01M847B8Z914VCACZZTYWAXZWN", "...": "trimmed"}
```

```bash
echo "not marked, never run"
```
"""


def test_only_marked_blocks_run_each_with_the_output_block_after_it(tmp_path: Path) -> None:
    # Given a doc with two marked blocks and one unmarked
    doc = tmp_path / "doc.md"
    doc.write_text(DOC)
    # When its blocks are read
    blocks = marked_blocks(doc)
    # Then the marked ones come in order, the first expecting silence, the second its JSON
    assert [b.command for b in blocks] == ["LOCAL=.leadrelay/local.json", 'curl -s "$API/leads/$LEAD"']
    assert blocks[0].expected is None
    assert blocks[1].expected_lang == "json" and "trimmed" in (blocks[1].expected or "")
    assert blocks[1].where == "doc.md:11"


def test_a_marker_shown_inside_a_fence_is_an_example_not_a_marker(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("````markdown\n<!-- doc-test -->\n```bash\nrm -rf /\n```\n````\n")
    assert marked_blocks(doc) == []


def test_a_marker_before_something_other_than_a_shell_block_is_an_error(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- doc-test -->\n```json\n{}\n```\n")
    with pytest.raises(ValueError, match="must be followed by a ```bash block"):
        marked_blocks(doc)


def test_ids_keys_tokens_and_the_time_of_day_are_masked_but_the_date_is_not() -> None:
    line = (
        '{"lead_id": "01M847B8Z914VCACZZTYWAXZWN", "request_id": "5c48ae31-0046-446c-ab5c-1e7723defd3d", '
        '"key": "GzVP7CnMqhPiUKwABynZQyC7a73pB3HL0-LKci46fQY", "token": "eyJhbGc.eyJzdWIi.c2ln", '
        '"at": "2026-11-23T12:50:10.832Z"}'
    )
    assert mask(line) == (
        '{"lead_id": "<ulid>", "request_id": "<uuid>", "key": "<key>", "token": "<jwt>", "at": "2026-11-23T<time>"}'
    )
    assert not text_matches('"at": "2026-11-23T12:50:10.832Z"', '"at": "2026-11-24T12:50:10.832Z"')


def test_a_changed_agent_or_count_is_drift() -> None:
    shown = "assigned rahul 2026-11-23T13:36:01.009Z\nrahul cap 35 today 2"
    assert text_matches(shown, "assigned rahul 2026-11-23T13:36:05.123Z\nrahul cap 35 today 2")
    assert not text_matches(shown, "assigned karthik 2026-11-23T13:36:05.123Z\nrahul cap 35 today 2")
    assert not text_matches(shown, "assigned rahul 2026-11-23T13:36:05.123Z\nrahul cap 35 today 3")
    assert not text_matches(shown, "assigned rahul 2026-11-23T13:36:05.123Z")


def test_an_ellipsis_stands_for_text_in_a_line_a_cut_value_or_whole_lines() -> None:
    assert text_matches('{"id": "rahul", … ,"today": 2}', '{"id": "rahul", "name": "Rahul Singh" ,"today": 2}')
    assert text_matches('"request_id": "008a40af-…"', '"request_id": "5c48ae31-0046-446c-ab5c-1e7723defd3d"')
    assert text_matches("first\n…\nlast", "first\nsecond\nthird\nlast")
    assert text_matches("first\n…\nlast", "first\nlast")
    assert not text_matches("first\n…\nlast", "first\nsecond")


def test_curl_i_output_is_compared_on_the_headers_the_doc_shows() -> None:
    shown = "HTTP/1.1 202 Accepted\nX-Lead-Id: 01M847B9Z3H44JRT9Z1W8TNJ2W\n\n{}"
    actual = (
        "HTTP/1.1 202 Accepted\r\nServer: x\r\nDate: today\r\nX-Lead-Id: 01M8479VG05VYND8P8Z99XXV5B\r\n"
        "Content-Length: 2\r\n\r\n{}"
    )
    assert text_matches(shown, actual)
    assert not text_matches(shown, actual.replace("202 Accepted", "200 OK"))
    assert not text_matches(shown, actual.replace("X-Lead-Id", "X-Other"))


def test_json_is_compared_as_json_with_trimmed_objects_and_lists() -> None:
    shown = '{"a": 1, "items": [{"x": "y", "...": "trimmed"}, "..."], "...": "trimmed"}'
    assert output_matches(shown, "json", '{"items": [{"x": "y", "z": 2}, {"q": 1}], "a": 1, "b": 3}')
    assert not output_matches(shown, "json", '{"items": [{"x": "n"}], "a": 1}')
    assert not output_matches('{"a": 1}', "json", '{"a": 1, "b": 2}')  # no "...": every key is shown
    assert not output_matches('{"a": 1}', "json", "not json")
    assert not output_matches('{"ok": true}', "json", '{"ok": 1}')


def test_a_block_with_no_output_block_must_print_nothing() -> None:
    assert output_matches(None, "", "\n")
    assert not output_matches(None, "", "bash: jq: command not found")


def test_a_shell_block_is_unmarked_unless_it_runs_or_says_why_it_cannot(tmp_path: Path) -> None:
    # Given a doc with a runnable block, a not-runnable one with its reason, one whose marker gives
    # no reason, an unmarked one, and a non-shell block
    doc = tmp_path / "doc.md"
    doc.write_text(
        "<!-- doc-test -->\n```bash\necho hi\n```\n```\nhi\n```\n\n"
        "<!-- not-runnable: deploys to AWS -->\n```bash\nnpx aws-cdk@2 deploy\n```\n\n"
        "<!-- not-runnable:  -->\n```bash\nleadrelay login\n```\n\n"
        "Words.\n\n```sh\nmake run\n```\n\n"
        "```json\n{}\n```\n"
    )
    # When the unmarked shell blocks are listed
    unmarked = unmarked_blocks(doc)
    # Then the one without a reason and the unmarked one are, by their opening line
    assert unmarked == [15, 21]
