"""The dependency rule of docs/architecture.md, checked over every import in the code.

handlers → domain → store → foundation (models, clock, errors, …) → AWS. The local stack and the
CLI stand beside the product and may use all of it; nothing in the product imports them back.
Infra reads only `definitions` (and `config` for names). A lazy import inside a function and an
import under `TYPE_CHECKING` count like any other: they are dependencies too.

The known violations that the structure work (issue #8) has not removed yet are listed below,
each with the step that removes it; a new violation fails, and so does a listed one that is gone
(so the list only shrinks).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOT = REPO_ROOT / "layers" / "shared" / "python"

# Each top-level part of the `leadrelay` package, by layer. A part may import its own layer and
# the layers below it, never above.
FOUNDATION = {
    "__init__", "models", "errors", "clock", "ids", "config", "definitions", "limits", "tracing",
    "dashboard_counts",  # pure, what a lead counts as; outside models/ to keep pydantic off the events cold start
    "stream_batch",  # partial batch responses of the stream functions (no Powertools batch import)
}  # fmt: skip
STORE = {"store"}
DOMAIN = {
    "auth", "capture", "sources", "pull", "routing", "followup", "dashboard", "reports", "tick", "events",
    "export", "people", "pipeline", "search", "privacy",
    "lead_selection", "export_job",
}  # fmt: skip
COMPOSITION = {"wiring"}  # binds stores to the domain; only handlers and the local stack use it
BESIDE = {"local", "cli", "users_cli"}  # the laptop: may import anything, imported by nothing in the product

RANK = {
    **dict.fromkeys(FOUNDATION, 0),
    **dict.fromkeys(STORE, 1),
    **dict.fromkeys(DOMAIN, 2),
    **dict.fromkeys(COMPOSITION, 3),
}

# Edges forbidden inside a layer: (importer part, imported part).
FORBIDDEN_WITHIN = {
    ("sources", "capture"),  # adapters parse; capture calls them, never the other way round
    ("routing", "store"),  # the router works against ports (protocols); wiring binds the stores
}

# Known violations: (importing module, imported module). Issue #8 struck the last of them off: a new
# import against the rule fails the test above; there is no list to add it to.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()

# Private names (`_x`) imported from another module of the package: the shared thing should be
# public where it lives. Known ones, for a later clean-up of the local stack:
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str]] = {
    ("leadrelay.local.moto_process", "leadrelay.local.aws._serialised_moto_server"),
}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name, or a path for handlers and infra
    imported: str  # dotted module name
    line: int
    names: tuple[str, ...] = ()  # the names of a `from … import` (empty for `import …`)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str | None) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = (module or "").split(".")
    if module is not None and path.name != "__init__.py":
        package = package[:-1]
    importer = module or str(path.relative_to(REPO_ROOT))
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(importer, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "leadrelay":  # `from leadrelay import wiring` names a module
                found += [Import(importer, f"leadrelay.{alias.name}", node.lineno) for alias in node.names]
            else:
                found.append(Import(importer, target, node.lineno, tuple(a.name for a in node.names)))
    return [i for i in found if i.imported == "leadrelay" or i.imported.startswith("leadrelay.")]


def _part(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _package_imports() -> list[Import]:
    found: list[Import] = []
    for path in sorted((PACKAGE_ROOT / "leadrelay").rglob("*.py")):
        found += _imports(path, _module_name(path))
    return found


def _violations_of_the_package() -> set[tuple[str, str]]:
    bad: set[tuple[str, str]] = set()
    for imp in _package_imports():
        src, dst = _part(imp.importer), _part(imp.imported)
        if src == dst or src in BESIDE:
            continue
        if dst in BESIDE or RANK[dst] > RANK[src] or (src, dst) in FORBIDDEN_WITHIN:
            bad.add((imp.importer, imp.imported))
    return bad


def _handler_files() -> list[Path]:
    return sorted((REPO_ROOT / "functions").rglob("*.py"))


def _violations_of_the_handlers() -> set[tuple[str, str]]:
    """Handlers and API routes take their services from `wiring`: they never import a store, nor the laptop."""
    bad: set[tuple[str, str]] = set()
    for path in _handler_files():
        for imp in _imports(path, None):
            if _part(imp.imported) in STORE | BESIDE:
                bad.add((imp.importer, imp.imported))
    return bad


def _violations_of_infra() -> set[tuple[str, str]]:
    """The CDK app reads the shared definitions (and settings names), never the domain or the stores."""
    bad: set[tuple[str, str]] = set()
    for path in sorted((REPO_ROOT / "infra").rglob("*.py")):
        for imp in _imports(path, None):
            if _part(imp.imported) not in {"definitions", "config", "__init__"}:
                bad.add((imp.importer, imp.imported))
    return bad


def _all_violations() -> set[tuple[str, str]]:
    return _violations_of_the_package() | _violations_of_the_handlers() | _violations_of_infra()


def test_every_part_of_the_package_is_placed_in_a_layer():
    # Given the package's top-level modules and subpackages
    parts = {p.stem for p in (PACKAGE_ROOT / "leadrelay").iterdir() if p.suffix == ".py" or p.is_dir()}
    parts.discard("__pycache__")
    # Then each one belongs to exactly one layer: a new part must be placed on purpose
    unplaced = parts - set(RANK) - BESIDE
    assert not unplaced, f"place {sorted(unplaced)} in a layer in tests/unit/test_dependency_rule.py"


def test_no_import_points_up_the_layers_or_back_at_the_laptop():
    # Given every import in the package, the handlers and infra
    violations = _all_violations()
    # Then only the listed, known violations remain
    new = sorted(violations - KNOWN_VIOLATIONS)
    assert not new, "imports against the dependency rule (docs/architecture.md):\n" + "\n".join(
        f"  {a} imports {b}" for a, b in new
    )


def test_the_list_of_known_violations_only_shrinks():
    # Given the known violations listed above
    # Then each one still exists: a fixed one must be struck off the list
    gone = sorted(KNOWN_VIOLATIONS - _all_violations())
    assert not gone, "fixed, strike off KNOWN_VIOLATIONS:\n" + "\n".join(f"  {a} imports {b}" for a, b in gone)


def test_the_checker_sees_lazy_relative_and_type_checking_imports(tmp_path: Path):
    # Given a module with a relative import, one inside a function and one under TYPE_CHECKING
    module = PACKAGE_ROOT / "leadrelay" / "store" / "leads.py"
    source = tmp_path / "leads.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from ..routing.engine import decide\n"
        "if TYPE_CHECKING:\n    from leadrelay.capture import Capture\n"
        "def f():\n    from leadrelay import wiring\n",
        encoding="utf-8",
    )
    # When its imports are read as if it were store/leads.py
    imports = _imports(source, _module_name(module))
    # Then all three are found, resolved to absolute names
    assert {i.imported for i in imports} == {"leadrelay.routing.engine", "leadrelay.capture", "leadrelay.wiring"}


def _private_imports() -> set[tuple[str, str]]:
    return {
        (imp.importer, f"{imp.imported}.{name}")
        for imp in _package_imports()
        for name in imp.names
        if name.startswith("_") and not name.startswith("__")
    }


def test_no_module_imports_another_modules_private_names():
    # Given every `from leadrelay.x import _y` in the package
    private = _private_imports()
    # Then only the known ones remain, and the known ones still exist (the list only shrinks)
    assert not sorted(private - KNOWN_PRIVATE_IMPORTS), "make these public where they live"
    assert not sorted(KNOWN_PRIVATE_IMPORTS - private), "fixed, strike off KNOWN_PRIVATE_IMPORTS"


# One module per provider: its API, its quirks. Capture reaches them only through the adapter
# interface (`sources.base`, the package face, `registry`), never by name.
PROVIDER_MODULES = {
    "meta", "graph", "google_ads", "indiamart", "justdial", "whatsapp", "razorpay", "ninety_nine_acres",
    "magicbricks", "housing", "portals",
}  # fmt: skip


def test_capture_calls_providers_only_through_the_adapter_interface():
    # Given every import of the capture package (its pending fetches included)
    by_name = [
        (imp.importer, imp.imported)
        for imp in _package_imports()
        if _part(imp.importer) == "capture" and imp.imported.startswith("leadrelay.sources.")
    ]
    # Then none names a provider's own module: a parked lead is fetched by `adapter.fetch_pending`
    named = [(a, b) for a, b in by_name if b.split(".")[2] in PROVIDER_MODULES]
    assert not named, f"capture imports provider modules: {named}"
    # And the list of providers is the adapters that exist (a new one must be listed)
    modules = {p.stem for p in (PACKAGE_ROOT / "leadrelay" / "sources").glob("*.py")}
    assert modules >= PROVIDER_MODULES
