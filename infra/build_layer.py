"""Build the shared Lambda layer folder for arm64 / Python 3.13 without Docker.

The layer is `python/leadrelay/...` (the product's own modules, an explicit list: SHIPPED) plus
the third-party wheels from layers/shared/requirements.txt, fetched by pip for the Lambda platform
(manylinux2014_aarch64, CPython 3.13, binary wheels only), then compiled to bytecode by a Python
of the runtime's own minor version with `--invalidation-mode unchecked-hash`: the zip loses file
times, and timestamp-checked `.pyc` would be ignored, so every cold start would compile the layer
from source again (~300–400 ms per function, measured in the Lambda layout).

Used in two ways:
- at synth time by the layer's local bundler (infra/leadrelay_infra/constructs/layer.py), so
  `cdk synth`/`cdk deploy` always ship the current code;
- by `make layer` (`python infra/build_layer.py`), which builds build/layer/ to inspect it and
  to check its size before a deploy.

The compiling Python is found as `LEADRELAY_LAYER_PYTHON`, else `python3.13` on PATH, else a
pyenv 3.13. When none is found the build stops and says so: a layer without bytecode for its
runtime costs every cold start hundreds of milliseconds, which no one would notice until AWS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import lazy_inits

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO_ROOT / "layers" / "shared" / "requirements.txt"
PACKAGE_DIR = REPO_ROOT / "layers" / "shared" / "python" / "leadrelay"
DEFAULT_OUT = REPO_ROOT / "build" / "layer"

PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.13"
# Where Lambda unpacks a layer's python/ folder: tracebacks name these paths.
LAMBDA_LAYER_SITE = "/opt/python"
# Lambda's unzipped limit for a function plus all its layers.
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024

# The product: the `leadrelay` modules and packages Lambda runs. A list, not "everything but",
# so nothing written for laptops can slip into Lambda. tests/unit/test_layer_contents.py fails
# when a module of the package is in neither list: a new module must be put in one of them.
SHIPPED = (
    "__init__.py",
    "auth",
    "capture",
    "clock.py",
    "config.py",
    "dashboard",
    "dashboard_counts.py",
    "definitions.py",
    "errors.py",
    "events",
    "export.py",
    "export_job.py",
    "followup",
    "ids.py",
    "lead_selection.py",
    "limits.py",
    "models",
    "people.py",
    "pipeline.py",
    "privacy.py",
    "pull",
    "reports.py",
    "routing",
    "search.py",
    "sources",
    "store",
    "stream_batch.py",
    "tick",
    "tracing.py",
    "wiring.py",
)
# For laptops and CI only: the local stack (moto server, gateway, poller, ticker) and the CLI.
DEV_ONLY = ("local", "cli.py", "users_cli.py")
# Third-party packages the shipped code must never import (development, local stack, infra).
DEV_ONLY_THIRD_PARTY = (
    "moto",
    "werkzeug",
    "flask",
    "jwt",
    "requests",
    "pytest",
    "hypothesis",
    "aws_cdk",
    "constructs",
    "cdk_nag",
    "jsii",
)

# The Lambda Python runtime already ships boto3 and botocore with their dependencies; a second
# copy in the layer would shadow the runtime's for no gain (~25 MB unzipped, same import time).
# aws-xray-sdk (the Tracer's) declares botocore as a dependency, which is how they would arrive.
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "python_dateutil", "urllib3", "six")
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info", ".mypy_cache")


class LayerBuildError(RuntimeError):
    """The layer cannot be built as Lambda needs it (no matching Python, no wheels)."""


def pip_command(target: Path, requirements: Path = REQUIREMENTS, platform: str = PLATFORM) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--platform",
        platform,
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--no-compile",
        "--target",
        str(target),
        "-r",
        str(requirements),
    ]


def _version_of(python: str) -> str | None:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _candidates() -> list[str]:
    found = []
    if os.environ.get("LEADRELAY_LAYER_PYTHON"):
        found.append(os.environ["LEADRELAY_LAYER_PYTHON"])
    if sys.version_info[:2] == tuple(int(p) for p in PYTHON_VERSION.split(".")):
        found.append(sys.executable)
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    if on_path:
        found.append(on_path)
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found += [str(p / "bin" / "python") for p in sorted(pyenv.glob(f"{PYTHON_VERSION}.*"), reverse=True)]
    return found


def runtime_python() -> str:
    """A Python of the Lambda runtime's minor version, to compile the layer's bytecode with."""
    tried = []
    for python in _candidates():
        version = _version_of(python)
        if version == PYTHON_VERSION:
            return python
        tried.append(f"{python} ({version or 'does not run'})")
        if python == os.environ.get("LEADRELAY_LAYER_PYTHON"):
            raise LayerBuildError(f"LEADRELAY_LAYER_PYTHON={python} is Python {version}, not {PYTHON_VERSION}")
    raise LayerBuildError(
        f"no Python {PYTHON_VERSION} to compile the layer's bytecode for the Lambda runtime "
        f"(tried: {', '.join(tried) or 'nothing found'}). Install it (e.g. `pyenv install {PYTHON_VERSION}`) "
        f"or point LEADRELAY_LAYER_PYTHON at one: bytecode from another version would be ignored by "
        f"Lambda and every cold start would compile the layer again."
    )


def _compileall(python: str, root: Path, deployed_at: str) -> subprocess.CompletedProcess[str]:
    """Compile every module under `root` with `python` into unchecked-hash bytecode (valid whatever
    the zip does to file times), naming the files as they will sit at `deployed_at`."""
    return subprocess.run(
        [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
         "-s", str(root), "-p", deployed_at, str(root)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


def compile_bytecode(site: Path, python: str) -> int:
    """Compile every module under `site` with `python` (the runtime's version); return the count
    of `.pyc` files written. Unchecked-hash bytecode: valid whatever the zip does to file times."""
    done = _compileall(python, site, LAMBDA_LAYER_SITE)
    tag = f"cpython-{PYTHON_VERSION.replace('.', '')}"
    written = len(list(site.rglob(f"*.{tag}.pyc")))
    sources = sum(1 for p in site.rglob("*.py") if "__pycache__" not in p.parts)
    # compileall exits non-zero for a file that does not compile: vendored test data in some
    # wheels (e.g. a Python 2 sample) does; our own package must compile, checked below.
    if done.returncode != 0 and written == 0:
        raise LayerBuildError(f"compileall failed: {done.stdout.strip()[-2000:]} {done.stderr.strip()[-2000:]}")
    missing = [
        p
        for p in (site / "leadrelay").rglob("*.py")
        if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()
    ]
    if missing:
        raise LayerBuildError(f"no {tag} bytecode for {', '.join(str(p) for p in missing[:5])}")
    if written < sources * 0.9:
        raise LayerBuildError(f"only {written} of {sources} modules compiled to {tag} bytecode")
    return written


def _copy_product(package_dir: Path, target_pkg: Path) -> None:
    if target_pkg.exists():
        shutil.rmtree(target_pkg)
    target_pkg.mkdir(parents=True)
    for name in SHIPPED:
        source = package_dir / name
        if source.is_dir():
            shutil.copytree(source, target_pkg / name, ignore=_COPY_IGNORE)
        elif source.is_file():
            shutil.copy2(source, target_pkg / name)
        else:
            raise LayerBuildError(f"the layer lists {name} but {source} does not exist")


def _prune(site: Path) -> None:
    for name in PROVIDED_BY_RUNTIME:
        for path in [site / name, site / f"{name}.py", *site.glob(f"{name}-*.dist-info")]:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    # Console scripts are of no use inside a layer.
    shutil.rmtree(site / "bin", ignore_errors=True)
    for cache in site.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def build_layer(
    output_dir: Path,
    *,
    requirements: Path = REQUIREMENTS,
    package_dir: Path = PACKAGE_DIR,
    bytecode: bool = True,
    platform: str = PLATFORM,
) -> int:
    """Fill `output_dir` with the layer (`python/...`); return its size in bytes.

    `bytecode=False` leaves the layer as source only (tests that look at the file list); a layer
    for Lambda is always built with bytecode, and raises `LayerBuildError` when it cannot be.
    `platform` other than Lambda's serves the benchmark, which imports the same layer on this
    machine (bench/imports.py): the pure-Python files are the same, only native wheels differ.
    """
    if not package_dir.is_dir():
        raise FileNotFoundError(f"layer package not found: {package_dir}")
    python = runtime_python() if bytecode else None  # fail before any slow step
    site = output_dir / "python"
    site.mkdir(parents=True, exist_ok=True)
    _copy_product(package_dir, site / package_dir.name)
    if requirements.is_file():
        result = subprocess.run(pip_command(site, requirements, platform), capture_output=True, text=True)
        if result.returncode != 0:
            raise LayerBuildError(
                f"pip could not fetch the layer's wheels for {platform}/cp{PYTHON_VERSION}:\n{result.stderr.strip()}"
            )
    _prune(site)
    lazy_inits.apply(site)  # Powertools' re-export-only package inits load their names on first use
    if python is not None:
        compile_bytecode(site, python)
    return sum(p.stat().st_size for p in output_dir.rglob("*") if p.is_file())


LAMBDA_TASK_ROOT = "/var/task"


def build_function(folder: Path, output_dir: Path, *, python: str | None = None) -> int:
    """Copy one function's code (`functions/<name>`) into `output_dir` with bytecode of the runtime's
    version (unchecked hash, as the layer); return the number of `.pyc` written.

    Lambda's /var/task is read-only and the asset zip loses file times, so without shipped bytecode
    every cold start compiles the function's own modules again: ~55 ms of CPU for the api's route
    modules (5,000 lines), measured in the Lambda layout (docs/benchmarks.md)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"function folder not found: {folder}")
    python = python or runtime_python()
    output_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(folder, output_dir, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests"),
                    dirs_exist_ok=True)  # fmt: skip
    done = _compileall(python, output_dir, LAMBDA_TASK_ROOT)
    tag = f"cpython-{PYTHON_VERSION.replace('.', '')}"
    missing = [p for p in output_dir.rglob("*.py") if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").is_file()]
    if done.returncode != 0 or missing:
        raise LayerBuildError(
            f"function {folder.name}: no {tag} bytecode for {', '.join(str(p) for p in missing[:5])} "
            f"{done.stdout.strip()[-1000:]} {done.stderr.strip()[-1000:]}"
        )
    return len(list(output_dir.rglob(f"*.{tag}.pyc")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="layer folder (emptied first)")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    try:
        size = build_layer(out)
    except LayerBuildError as error:
        print(f"LAYER NOT BUILT: {error}", file=sys.stderr)
        return 2
    print(f"layer built in {out} ({size / 1024 / 1024:.1f} MB unzipped, bytecode for Python {PYTHON_VERSION})")
    if size > LAMBDA_UNZIPPED_LIMIT_BYTES:
        print("layer exceeds Lambda's 250 MB unzipped limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
