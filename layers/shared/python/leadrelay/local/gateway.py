"""The local API Gateway: HTTP requests in, REST (v1) proxy events to the real handlers, responses out.

Routing mirrors the deployed API: `/hooks/{source_id}` goes to the ingest function with no
authorizer; every other path goes to the api function behind a Cognito authorizer; `/_local/clock`
exists only here and is answered by the stack itself. A handler that raises (or answers something
that is not a proxy response) becomes a 502, as a crashed Lambda does behind API Gateway.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from leadrelay.clock import Clock, epoch_ms, iso
from leadrelay.local.aws import ACCOUNT_ID
from leadrelay.local.cognito import TokenVerifier, Unauthorized, authorizer_claims, groups_of
from leadrelay.local.proxy import header, is_binary_media_type, json_answer, proxy_answer

log = logging.getLogger("leadrelay.local.gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_ADVANCE_MINUTES = 10 * 366 * 24 * 60
CLOCK_PATH = "/_local/clock"

# (function name, event) -> Lambda proxy response; raises when the handler raises.
Invoke = Callable[[str, dict[str, Any]], Any]
# (method, path, query, headers, body) -> (status, headers, body): a local-only endpoint under a prefix.
LocalEndpoint = Callable[[str, str, str, list[tuple[str, str]], bytes], tuple[int, list[tuple[str, str]], bytes]]


@dataclass(frozen=True)
class Route:
    """An API Gateway resource (path template) integrated with a function."""

    resource: str  # e.g. "/hooks/{source_id}", "/{proxy+}"
    function: str  # "ingest" | "api" | …
    authorized: bool

    def match(self, path: str) -> dict[str, str] | None:
        """Path parameters when `path` fits this resource, else None."""
        found = _template_regex(self.resource).fullmatch(path)
        if found is None:
            return None
        names = re.findall(r"\{([^}]+?)\+?\}", self.resource)
        return {name: unquote(value) for name, value in zip(names, found.groups(), strict=True)}


def _template_regex(resource: str) -> re.Pattern[str]:
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", resource):
        if part.startswith("{") and part.endswith("+}"):
            pattern += "(.+)"
        elif part.startswith("{"):
            pattern += "([^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


DEFAULT_ROUTES: tuple[Route, ...] = (
    Route("/hooks/{source_id}", "ingest", authorized=False),
    # The OpenAPI document and Swagger UI need no token (as deployed: no authorizer on them).
    Route("/openapi.json", "api", authorized=False),
    Route("/docs", "api", authorized=False),
    Route("/", "api", authorized=True),
    Route("/{proxy+}", "api", authorized=True),
)


class ClockControl(Protocol):
    """What `/_local/clock` needs from the stack."""

    def now(self) -> datetime: ...

    def advance(self, delta: timedelta) -> datetime: ...


@dataclass
class RequestLog:
    """One request through the gateway, for observers (the benchmark, tests)."""

    method: str
    path: str
    function: str | None
    status: int
    started_at: float  # time.monotonic()
    duration_s: float


class Gateway:
    """A threaded HTTP server on 127.0.0.1 that speaks API Gateway to the handlers."""

    def __init__(
        self,
        *,
        invoke: Invoke,
        verifier: TokenVerifier | None,
        clock: Clock,
        clock_control: ClockControl | None = None,
        routes: tuple[Route, ...] = DEFAULT_ROUTES,
        port: int = 0,
        stage: str = "local",
        api_id: str = "leadrelaylocal",
    ) -> None:
        self.invoke = invoke
        self.verifier = verifier
        self.clock = clock
        self.clock_control = clock_control
        self.routes = routes
        self.stage = stage
        self.api_id = api_id
        self.listeners: list[Callable[[RequestLog], None]] = []
        # Endpoints only the local stack has, by path prefix (the stand-in Graph API…).
        self.local_endpoints: dict[str, LocalEndpoint] = {}
        self._server = _Server(("127.0.0.1", port), _make_handler_class(self))
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="leadrelay-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    # -- one request ---------------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, peer: str) -> Any:
        """Answer one request: (status, headers as (name, value) pairs, body bytes, function)."""
        split = urlsplit(raw_path)
        path = split.path or "/"
        if path == CLOCK_PATH:
            return (*self._clock_endpoint(method, headers, body), None)
        for prefix, endpoint in self.local_endpoints.items():
            if path == prefix or path.startswith(prefix + "/"):
                return (*endpoint(method, path, split.query, headers, body), None)
        for route in self.routes:
            path_parameters = route.match(path)
            if path_parameters is not None:
                break
        else:
            return (*json_answer(403, {"error": "not_found", "message": "Missing Authentication Token"}), None)
        claims = None
        if route.authorized:
            try:
                claims = self._verify(headers)
            except Unauthorized as refused:
                return (*json_answer(401, {"error": "unauthorized", "message": str(refused)}), route.function)
        event = self.proxy_event(route, method, path, split.query, headers, body, peer, path_parameters, claims)
        try:
            response = self.invoke(route.function, event)
            return (*proxy_answer(response, event["requestContext"]["requestId"]), route.function)
        except Exception as error:
            log.exception("%s handler failed on %s %s", route.function, method, path)
            return (
                *json_answer(
                    502,
                    {"error": "internal_error", "message": f"the {route.function} function failed: {error}"},
                ),
                route.function,
            )

    def _verify(self, headers: list[tuple[str, str]]) -> dict[str, Any]:
        if self.verifier is None:
            raise Unauthorized("no authorizer configured")
        return self.verifier.verify(header(headers, "authorization"))

    def proxy_event(
        self,
        route: Route,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        peer: str,
        path_parameters: dict[str, str],
        claims: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """The REST API (v1) Lambda proxy event for this request, as API Gateway builds it."""
        single_headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        # API Gateway tells the function the scheme the caller used (here plain HTTP on loopback).
        headers = [*headers, ("X-Forwarded-Proto", "http")]
        for name, value in headers:
            single_headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        pairs = parse_qsl(query, keep_blank_values=True)
        single_query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for name, value in pairs:
            single_query[name] = value
            multi_query.setdefault(name, []).append(value)
        now = self.clock.now()
        request_id = str(uuid.uuid4())
        text_body: str | None
        is_base64 = False
        if not body:
            text_body = None
        elif is_binary_media_type(multi_headers):
            text_body, is_base64 = base64.b64encode(body).decode("ascii"), True
        else:
            try:
                text_body = body.decode("utf-8")
            except UnicodeDecodeError:
                text_body = base64.b64encode(body).decode("ascii")
                is_base64 = True
        request_context: dict[str, Any] = {
            "accountId": ACCOUNT_ID,
            "apiId": self.api_id,
            "resourceId": route.resource,
            "resourcePath": route.resource,
            "httpMethod": method,
            # The local URL carries no stage (like a custom domain on AWS), so neither does this path.
            "path": path,
            "stage": self.stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": now.astimezone(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": epoch_ms(now),
            "protocol": "HTTP/1.1",
            "domainName": header(headers, "host") or f"127.0.0.1:{self.port}",
            "identity": {
                "sourceIp": peer,
                "userAgent": header(headers, "user-agent"),
                "accountId": None,
                "apiKey": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
            },
        }
        if claims is not None:
            request_context["authorizer"] = {"claims": authorizer_claims(claims)}
        return {
            "resource": route.resource,
            "path": path,
            "httpMethod": method,
            "headers": single_headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": single_query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": request_context,
            "body": text_body,
            "isBase64Encoded": is_base64,
        }

    # -- /_local/clock -------------------------------------------------------------------------

    def _clock_endpoint(self, method: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, list, bytes]:
        control = self.clock_control
        if control is None:
            return json_answer(404, {"error": "not_found", "message": "this gateway has no local clock"})
        if method in ("GET", "HEAD"):
            return json_answer(200, {"now": iso(control.now())})
        if method != "POST":
            return json_answer(405, {"error": "method_not_allowed", "message": "use GET or POST on /_local/clock"})
        try:
            claims = self._verify(headers)
        except Unauthorized as refused:
            return json_answer(401, {"error": "unauthorized", "message": str(refused)})
        if "admin" not in groups_of(claims):
            return json_answer(403, {"error": "forbidden", "message": "only an admin may move the local clock"})
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return json_answer(400, {"error": "invalid_json", "message": "the body must be JSON"})
        if not isinstance(payload, dict) or "advance_minutes" not in payload:
            return json_answer(
                422, {"error": "invalid_request", "message": 'expected {"advance_minutes": <minutes, >= 0>}'}
            )
        minutes = payload["advance_minutes"]
        if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not math.isfinite(minutes):
            return json_answer(422, {"error": "invalid_request", "message": "advance_minutes must be a number"})
        if minutes < 0:
            return json_answer(422, {"error": "invalid_request", "message": "the clock only moves forward"})
        if minutes > MAX_ADVANCE_MINUTES:
            return json_answer(
                422,
                {
                    "error": "invalid_request",
                    "message": f"advance_minutes is capped at {MAX_ADVANCE_MINUTES}",
                },
            )
        now = control.advance(timedelta(minutes=minutes))
        return json_answer(200, {"now": iso(now)})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # bursts of webhooks from the benchmark


def _make_handler_class(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "LeadRelayLocalGateway"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _serve(self) -> None:
            started = time.monotonic()
            method = self.command
            function = None
            try:
                body = self._read_body()
                if body is None:
                    status, headers, payload = json_answer(
                        413,
                        {"error": "payload_too_large", "message": "Request Too Long: the limit is 10 MB"},
                    )
                    self.close_connection = True
                else:
                    status, headers, payload, function = gateway.handle(
                        method, self.path, list(self.headers.items()), body, self.client_address[0]
                    )
                self._write(status, headers, payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
                return
            for listener in gateway.listeners:
                try:
                    listener(RequestLog(method, self.path, function, status, started, time.monotonic() - started))
                except Exception:
                    log.exception("a gateway listener failed")

        def _read_body(self) -> bytes | None:
            """The request body, or None when it is over the limit (the rest is not read)."""
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks: list[bytes] = []
                total = 0
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    total += size
                    if total > MAX_BODY_BYTES:
                        return None
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                return None
            return self.rfile.read(length) if length > 0 else b""

        def _write(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """http.server's own refusals (a method it has no do_X for, a malformed request line)
            in the API's JSON shape instead of an HTML page: an unknown method is a 405."""
            if code == 501:
                status, error = 405, ("method_not_allowed", f"{self.command} is not a method this API serves")
            else:
                status, error = code, ("bad_request", message or "the request cannot be read")
            payload = json.dumps({"error": error[0], "message": error[1]}).encode()
            try:
                self.send_response(status, None)
                self.send_header("Content-Type", "application/json")
                if status == 405:
                    self.send_header("Allow", "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD" and code >= 200 and code not in (204, 304):
                    self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    return _Handler
