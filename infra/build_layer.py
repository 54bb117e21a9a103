"""Build the shared Lambda layer folder for arm64 / Python 3.13 without Docker.

The layer is `python/leadrelay/...` (our domain package) plus the third-party wheels from
layers/shared/requirements.txt, fetched by pip for the Lambda platform (manylinux2014_aarch64,
CPython 3.13, binary wheels only, no bytecode compiled by this machine's Python).

Used in two ways:
- at synth time by the layer's local bundler (infra/leadrelay_infra/constructs/layer.py), so
  `cdk synth`/`cdk deploy` always ship the current code;
- by `make layer` (`python infra/build_layer.py`), which builds build/layer/ to inspect it and
  to check its size before a deploy.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO_ROOT / "layers" / "shared" / "requirements.txt"
PACKAGE_DIR = REPO_ROOT / "layers" / "shared" / "python" / "leadrelay"
DEFAULT_OUT = REPO_ROOT / "build" / "layer"

PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.13"
# Lambda's unzipped limit for a function plus all its layers.
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024

# The Lambda Python runtime already ships boto3/botocore/s3transfer; aws-xray-sdk pulls botocore
# in as a dependency, and a second copy would only add ~30 MB to every cold start's layer.
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer")
# The local stack (moto, a gateway, a CLI) is for laptops and CI, never for Lambda.
_DEV_ONLY = ("local", "cli.py")
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info", ".mypy_cache", *_DEV_ONLY)


def pip_command(target: Path, requirements: Path = REQUIREMENTS) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--platform",
        PLATFORM,
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


def _prune(site: Path) -> None:
    for name in PROVIDED_BY_RUNTIME:
        for path in [site / name, *site.glob(f"{name}-*.dist-info")]:
            if path.exists():
                shutil.rmtree(path)
    # Console scripts are of no use inside a layer.
    shutil.rmtree(site / "bin", ignore_errors=True)
    for cache in site.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)


def build_layer(output_dir: Path, *, requirements: Path = REQUIREMENTS, package_dir: Path = PACKAGE_DIR) -> int:
    """Fill `output_dir` with the layer (`python/...`); return its size in bytes."""
    if not package_dir.is_dir():
        raise FileNotFoundError(f"layer package not found: {package_dir}")
    site = output_dir / "python"
    site.mkdir(parents=True, exist_ok=True)
    target_pkg = site / package_dir.name
    if target_pkg.exists():
        shutil.rmtree(target_pkg)
    shutil.copytree(package_dir, target_pkg, ignore=_COPY_IGNORE)
    if requirements.is_file():
        result = subprocess.run(pip_command(site, requirements), capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"pip could not fetch the layer's wheels for {PLATFORM}/cp{PYTHON_VERSION}:\n{result.stderr.strip()}"
            )
    _prune(site)
    return sum(p.stat().st_size for p in output_dir.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="layer folder (emptied first)")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    size = build_layer(out)
    print(f"layer built in {out} ({size / 1024 / 1024:.1f} MB unzipped)")
    if size > LAMBDA_UNZIPPED_LIMIT_BYTES:
        print("layer exceeds Lambda's 250 MB unzipped limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
