"""Which tests `make test`'s two pytest-xdist workers (`--dist loadgroup`) keep together.

Tests that share something costly stay on one worker; everything else goes wherever a worker is
free:

- the e2e tests on the shared demo stack (the session's `local_stack`): group `e2e`, so one worker
  starts one stack;
- e2e tests on stacks of their own (`own_stack`, a module's own fixture, the docs' stacks): one
  group per module, so a module's stack starts once, on either worker;
- the infra tests on the synthesized dev app (the session's `synthesized`): group `infra`, so the
  app is synthesized once; an infra test that synthesizes a variant of its own goes anywhere.

pytest-xdist 3.8 schedules a group by the `@<group>` suffix it writes into `item._nodeid`; pytest 9.2
keeps a node's id in `item._id` instead, so that write is lost and every test was scheduled on its
own (pytest-dev/pytest-xdist#1386): the docs ran on both workers, each worker started its own
demo stack and synthesized the app. `keep_group_suffix` writes the suffix where this pytest reads
it, and does nothing where xdist's own write took effect. tests/unit/test_xdist_groups.py runs two
workers to check the groups hold.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest


def group_of(item: pytest.Item) -> str | None:
    fixtures = getattr(item, "fixturenames", ())
    if "local_stack" in fixtures:
        return "e2e"
    if item.get_closest_marker("e2e") is not None or "e2e" in item.path.parts:
        return f"e2e-{item.path.stem}"
    if item.get_closest_marker("infra") is not None and "synthesized" in fixtures:
        return "infra"
    return None


def keep_group_suffix(items: list[pytest.Item]) -> None:
    """The `@<group>` suffix xdist's loadgroup scheduler splits node ids by, where pytest keeps the id."""
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})  # fmt: skip
        suffix = "@" + "_".join(names)
        if names and not item.nodeid.endswith(suffix) and isinstance(getattr(item, "_id", None), NodeId):
            item._id = NodeId.parse(item.nodeid + suffix)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> Generator[None, None, None]:
    # Before every other implementation (xdist's reads the marks), the marks; after them, the suffix.
    for item in items:
        group = group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    result = yield
    if getattr(config.option, "loadgroup", False):
        keep_group_suffix(items)
    return result
