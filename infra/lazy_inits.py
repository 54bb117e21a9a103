"""Re-export-only package `__init__` files of the layer's wheels, rewritten to load on first use.

`aws_lambda_powertools/event_handler/__init__.py` imports every resolver Powertools has (AppSync
with asyncio, Bedrock agents, VPC Lattice, Lambda function URLs…) only to re-export their names,
and Python runs a package's `__init__` before any of its submodules: `from
aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver` pays for all of
them. `utilities/data_classes/__init__.py` does the same for ~40 event classes. Measured in the
Lambda layout: ~20–40 ms of the api function's cold start, for names it never uses.

`lazy_init` turns such a file into the same names resolved on first access (PEP 562 module
`__getattr__`), as Powertools itself did for its parser's envelopes (aws-powertools/
powertools-lambda-python#8405). It only rewrites a file that is nothing but a docstring,
absolute or relative `from <submodule> import <names>` statements and `__all__`; anything else
(code, conditional imports, a star import) and `lazy_init` returns None and the build stops
(`build_layer`), so a new Powertools release that changes one of these files is looked at, never
half-rewritten. `__all__` stays exactly as the original declares it (star imports and `dir()` see
the same names), and every name the original bound resolves to the same object.
"""

from __future__ import annotations

import ast
from pathlib import Path

# The packages whose `__init__` the layer ships lazily (checked against the installed wheels by
# tests/unit/test_lazy_inits.py, so an upgrade that changes their shape fails there first).
LAZY_PACKAGE_INITS = (
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.data_classes",
)

_TEMPLATE = '''"""{doc}

(Rewritten by LeadRelay's layer build, infra/lazy_inits.py: the names below load on first use.)
"""

import importlib as _importlib

_WHERE = {where!r}
__all__ = {all_names!r}


def __getattr__(name):
    try:
        module, attribute = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module {{__name__!r}} has no attribute {{name!r}}") from None
    value = getattr(_importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
'''


def lazy_init(source: str, package: str) -> str | None:
    """The lazy form of a re-export-only `__init__` of `package`; None if it is anything else."""
    tree = ast.parse(source)
    where: dict[str, tuple[str, str]] = {}
    declared: list[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            continue  # the docstring
        if isinstance(node, ast.ImportFrom) and node.module and all(alias.name != "*" for alias in node.names):
            if node.level == 0 and node.module.startswith(package + "."):
                module = node.module
            elif node.level == 1:
                module = f"{package}.{node.module}"
            else:
                return None
            for alias in node.names:
                where[alias.asname or alias.name] = (module, alias.name)
            continue
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "__all__"
            and isinstance(node.value, ast.List | ast.Tuple)
            and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts)
        ):
            declared = [e.value for e in node.value.elts]  # type: ignore[attr-defined]
            continue
        return None
    if not where:
        return None
    all_names = declared if declared is not None else sorted(name for name in where if not name.startswith("_"))
    if any(name not in where for name in all_names):
        return None  # __all__ names something the file does not import
    doc = (ast.get_docstring(tree) or f"{package}").replace('"""', "'''")
    return _TEMPLATE.format(doc=doc, where=where, all_names=all_names)


def apply(site: Path, packages: tuple[str, ...] = LAZY_PACKAGE_INITS) -> list[str]:
    """Rewrite each package's `__init__.py` under `site`; returns the packages rewritten. Raises
    ValueError for a package present but not re-export-only (look at the new release first)."""
    rewritten = []
    for package in packages:
        path = site.joinpath(*package.split("."), "__init__.py")
        if not path.is_file():
            continue  # not in this layer (the wheel is not a dependency any more)
        lazy = lazy_init(path.read_text(encoding="utf-8"), package)
        if lazy is None:
            raise ValueError(f"{path} is not a re-export-only __init__ any more; review infra/lazy_inits.py")
        path.write_text(lazy, encoding="utf-8")
        rewritten.append(package)
    return rewritten
