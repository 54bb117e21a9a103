#!/usr/bin/env python3
"""CDK entry point: `npx aws-cdk@2 synth -c stage=dev` or `python infra/app.py`.

Env: CDK_OUTDIR (default <repo>/cdk.out), LEADRELAY_SKIP_BUNDLING=1 (do not build the layer).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent
REPO_ROOT = INFRA_DIR.parent
VENV_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"

try:
    import aws_cdk  # noqa: F401
except ImportError:
    # `cdk.json` runs plain `python3`: hand over to the project's venv when that one has the CDK.
    if VENV_PYTHON.exists() and Path(sys.prefix).resolve() != VENV_PYTHON.parent.parent.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])
    raise SystemExit("aws-cdk-lib is not installed: run `make` (it creates .venv) first") from None

for path in (INFRA_DIR, REPO_ROOT / "layers" / "shared" / "python"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from leadrelay_infra.application import create_app  # noqa: E402


def main() -> None:
    app, _ = create_app()
    app.synth()


if __name__ == "__main__":
    main()
