"""The API as a frontend team meets it, over HTTP on `leadrelay local --demo`: the OpenAPI document
and Swagger UI without a token, a TypeScript client generated from the document that compiles,
requests no route can read answered with a JSON 4xx, and a bounded schemathesis pass with every
role's token that finds no 5xx and no answer that breaks its schema.

The generator and schemathesis are tools, not project dependencies: they are installed on first
use into folders under the repository that git ignores (`.cache/ts-client`, `.tools-venv`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalStackClient

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TS_DIR = Path(os.environ.get("LEADRELAY_TS_CACHE", REPO / ".cache" / "ts-client"))
TOOLS_VENV = Path(os.environ.get("LEADRELAY_TOOLS_VENV", REPO / ".tools-venv"))

CLIENT_TS = """
import type { paths, components } from "./api";

type NewLead = paths["/leads"]["post"]["requestBody"]["content"]["application/json"];
type Created = paths["/leads"]["post"]["responses"][201]["content"]["application/json"];
type ApiError = components["schemas"]["Error"];

export async function enterWalkIn(base: string, token: string, key: string): Promise<Created | ApiError> {
  const lead: NewLead = { channel: "walk_in", name: "Asha", phone: "98765 43210", assign_to_me: true };
  const answer = await fetch(`${base}/leads`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "Idempotency-Key": key },
    body: JSON.stringify(lead),
  });
  return (await answer.json()) as Created | ApiError;
}

export function leadIdOf(answer: Created): string {
  return answer.lead_id;
}
"""


def test_the_document_and_swagger_ui_need_no_token_and_name_this_server(local_stack: LocalStackClient) -> None:
    # Given no token at all
    document = local_stack.get("/openapi.json")
    # Then the document is served, declares the bearer scheme for every route, and names this server
    assert document.status_code == 200, document.text
    body = document.json()
    assert body["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert body["security"] == [{"bearer": []}]
    assert body["servers"][0]["url"] == local_stack.api_url
    assert body["paths"]["/hooks/{source_id}"]["post"]["security"] == [{"source_key_header": []},
                                                                        {"source_key_query": []}]  # fmt: skip
    docs = local_stack.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["Content-Type"] and "swagger" in docs.text.lower()
    # And the data routes still need a token
    assert local_stack.get("/leads").status_code == 401


def test_requests_no_route_can_read_get_a_json_4xx(local_stack: LocalStackClient) -> None:
    trace = local_stack.request("TRACE", "/leads", as_user="admin")
    assert trace.status_code == 405 and trace.json()["error"] == "method_not_allowed"
    latin1 = local_stack.post("/leads", as_user="admin", data="{\"name\": \"Jos\xe9\"}".encode("latin-1"),
                              headers={"Content-Type": "application/json"})  # fmt: skip
    assert latin1.status_code == 400 and latin1.json()["error"] == "invalid_json"
    multipart = local_stack.post(
        "/leads", as_user="admin", data=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}
    )
    assert multipart.status_code == 415 and multipart.json()["error"] == "unsupported_media_type"
    blank = local_stack.get("/leads?status=&agent_id=&source_id=&cursor=", as_user="admin")
    assert blank.status_code == 200 and "items" in blank.json()


def _npm_install() -> Path:
    npm = shutil.which("npm")
    assert npm, "npm is needed (Node 20 and npm are part of the toolchain, see CONTRACT.md)"
    if not (TS_DIR / "node_modules" / ".bin" / "tsc").exists():
        TS_DIR.mkdir(parents=True, exist_ok=True)
        (TS_DIR / "package.json").write_text('{"private": true}\n')
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "openapi-typescript@7", "typescript@5"],
                       cwd=TS_DIR, check=True, capture_output=True, timeout=300)  # fmt: skip
    return TS_DIR / "node_modules" / ".bin"


def test_a_typescript_client_generated_from_the_document_compiles(local_stack: LocalStackClient) -> None:
    # Given the document as a generator fetches it, and openapi-typescript
    bin_dir = _npm_install()
    (TS_DIR / "openapi.json").write_text(local_stack.get("/openapi.json").text)
    # When the types are generated and a client written against them is compiled strictly
    generated = subprocess.run([str(bin_dir / "openapi-typescript"), "openapi.json", "-o", "api.d.ts"],
                               cwd=TS_DIR, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    (TS_DIR / "client.ts").write_text(CLIENT_TS)
    compiled = subprocess.run(
        [str(bin_dir / "tsc"), "--strict", "--noEmit", "--target", "es2022", "--module", "es2022",
         "--moduleResolution", "bundler", "--lib", "es2022,dom", "client.ts"],
        cwd=TS_DIR, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # Then it compiles
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr


def _schemathesis() -> Path:
    st = TOOLS_VENV / "bin" / "st"
    if not st.exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True, timeout=120)
        subprocess.run([str(TOOLS_VENV / "bin" / "pip"), "install", "--quiet", "schemathesis>=4,<5"],
                       check=True, capture_output=True, timeout=600)  # fmt: skip
    return st


@pytest.mark.parametrize(("role", "examples"), [("admin", 6), ("manager", 3), ("agent", 3)])
def test_schemathesis_finds_no_server_error_and_no_schema_break(
    own_stack: LocalStackClient, tmp_path: Path, role: str, examples: int
) -> None:
    # Given the document and a token of each role (a bounded pass: the full one runs by hand, see docs/api.md)
    st = _schemathesis()
    document = tmp_path / "openapi.json"
    document.write_text(own_stack.get("/openapi.json").text)
    token = own_stack.user(role)["token"]
    # (with a lead in the list, so its answers are checked against the lead's schema too)
    made = own_stack.post("/leads", as_user="admin", json={"name": "Schema Check", "phone": "9876598765"})
    assert made.status_code in (201, 202), made.text
    # When schemathesis sends valid and invalid requests to every operation but the webhooks
    run = subprocess.run(
        [str(st), "run", str(document), "--url", own_stack.api_url, "-H", f"Authorization: Bearer {token}",
         "--checks", "not_a_server_error,response_schema_conformance", "--phases", "fuzzing",
         "--max-examples", str(examples), "--exclude-path-regex", "^/hooks", "--generation-deterministic",
         "--no-color"],
        capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    # Then nothing failed
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
