"""A real HTTP server on 127.0.0.1 that plays CDSE (catalogue, identity, download) and other providers.

Tests start it, register answers and faults, point the config's base URLs at it and read
back what it was asked (`server.requests`). Faults are queued per path and consumed one
per request: "429" (with Retry-After: 0), "429:N" (with Retry-After: N, seconds or an HTTP
date), "429-quota" (no Retry-After: CDSE's "Max session number 4 exceeded"), "500", "drop"
(half the body, then the connection is closed), "401" (an expired token). `refuse_range`
makes downloads answer a non-zero Range with that status, as CDSE has been reported to.
`routes` answer other paths from their query parameters (e.g. an S3 bucket listing), with
(body, content type) or (status, body, content type).

The identity service plays Keycloak: a password grant needs the account's password and, for
an account with a TOTP secret (`totp_secrets`), the code of the current or the previous
30 s step, each code accepted once; refresh tokens stay valid until `revoke_sessions()`.
`clock` is the service's time (a test may replace it).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import struct
import threading
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

# A `retries:` config section for clients of loopback servers: quick, and no CDSE quota waiting.
RETRIES = {
    "max_tries": 3,
    "base_delay_s": 0.001,
    "max_delay_s": 0.01,
    "timeout_s": 5,
    "quota_wait_s": None,
    "quota_tries": 0,
}

TOKEN_PATH = "/auth/token"
CATALOGUE_PATH = "/odata/v1"
DOWNLOAD_PATH = "/download/odata/v1"

_DATE = re.compile(r"ContentDate/Start (ge|gt|lt) (\S+?Z)")


class Served:
    """The state of a fake service, with the server it runs on (set by `run_server`) and its base URL."""

    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"


S = TypeVar("S", bound=Served)


class Loopback(Served):
    """State of the fake services: users, tokens, files, catalogue answers and queued faults."""

    def __init__(self) -> None:
        self.users: dict[str, str] = {}
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.catalogue: Callable[[dict[str, str]], dict] | None = None
        self.routes: dict[str, Callable[[dict[str, str]], tuple]] = {}
        self.requests: list[dict] = []
        self.valid_tokens: set[str] = set()
        self.valid_refresh: set[str] = set()
        self.token_lifetime_s = 600
        self.totp_secrets: dict[str, str] = {}
        self.used_codes: set[tuple[str, str]] = set()
        self.clock: Callable[[], float] = time.time
        self.refuse_range: int | None = None
        self._n = 0
        self._lock = threading.Lock()

    def fault(self, path: str, *kinds: str) -> None:
        """Queue faults for the next requests of `path`."""
        self.faults[path].extend(kinds)

    def new_token(self) -> dict:
        """Issue an access/refresh token pair."""
        with self._lock:
            self._n += 1
            access, refresh = f"access-{self._n}", f"refresh-{self._n}"
        self.valid_tokens.add(access)
        self.valid_refresh.add(refresh)
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.token_lifetime_s,
            "refresh_expires_in": 3600,
            "token_type": "Bearer",
        }

    def expire_tokens(self) -> None:
        """Make every issued access token invalid (the next use answers 401)."""
        self.valid_tokens.clear()

    def revoke_sessions(self) -> None:
        """End every session: access and refresh tokens become invalid (a new login is needed)."""
        self.valid_tokens.clear()
        self.valid_refresh.clear()

    def totp_accepts(self, user: str, code: str | None) -> bool:
        """Keycloak's OTP check: the code of this or the previous 30 s step, never one used before."""
        secret = self.totp_secrets[user]
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        now = int(self.clock() // 30)
        valid = set()
        for counter in (now, now - 1):
            mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
            offset = mac[-1] & 0x0F
            valid.add(f"{(struct.unpack('>I', mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}")
        with self._lock:
            if code not in valid or (user, code) in self.used_codes:
                return False
            self.used_codes.add((user, code))
        return True


def recorded_pages(pages: list[dict], page_size: int = 10) -> Callable[[dict[str, str]], dict]:
    """A catalogue answering by $skip with recorded OData pages (an empty page past the last)."""

    def answer(params: dict[str, str]) -> dict:
        skip, top = int(params.get("$skip", 0)), int(params.get("$top", page_size))
        if top != page_size or skip % page_size:
            return {"value": [], "@odata.count": pages[0].get("@odata.count", 0)}
        index = skip // page_size
        page = dict(pages[index]) if index < len(pages) else {"value": []}
        if params.get("$count") == "true":
            page["@odata.count"] = pages[0].get("@odata.count", 0)
        return page

    return answer


def synthetic_catalogue(products: list[dict]) -> Callable[[dict[str, str]], dict]:
    """A catalogue filtering `products` by the ContentDate/Start bounds of the $filter, ordered by start."""

    def answer(params: dict[str, str]) -> dict:
        chosen = sorted(products, key=lambda p: p["ContentDate"]["Start"])
        for op, value in _DATE.findall(params.get("$filter", "")):
            v = value.replace(".000Z", "").replace("Z", "")
            if op == "ge":
                chosen = [p for p in chosen if p["ContentDate"]["Start"].rstrip("Z")[:19] >= v[:19]]
            elif op == "gt":
                chosen = [p for p in chosen if p["ContentDate"]["Start"].rstrip("Z")[:19] > v[:19]]
            else:
                chosen = [p for p in chosen if p["ContentDate"]["Start"].rstrip("Z")[:19] < v[:19]]
        skip, top = int(params.get("$skip", 0)), int(params.get("$top", 20))
        page = {"value": chosen[skip : skip + top]}
        if params.get("$count") == "true":
            page["@odata.count"] = len(chosen)
        return page

    return answer


_ATTRIBUTE = re.compile(
    r"att/Name eq '(\w+)' and att/OData\.CSC\.\w+Attribute/Value (eq|le|lt|ge|gt) ('[^']*'|[-\d.]+)"
)


def attribute_catalogue(products: list[dict]) -> Callable[[dict[str, str]], dict]:
    """A catalogue that applies the Collection/Name and Attribute conditions of the $filter, all ANDed (as CDSE does,
    e.g. productType eq 'S2MSI2A', cloudCover le 20.00) to `products`, ordered by sensing start."""
    ops = {
        "eq": lambda a, b: a == b,
        "le": lambda a, b: a <= b,
        "lt": lambda a, b: a < b,
        "ge": lambda a, b: a >= b,
        "gt": lambda a, b: a > b,
    }

    def keep(product: dict, filter_: str) -> bool:
        collection = re.search(r"Collection/Name eq '([^']+)'", filter_)
        if collection and product.get("_collection") not in (None, collection.group(1)):
            return False
        attrs = {a["Name"]: a["Value"] for a in product.get("Attributes") or []}
        for name, op, literal in _ATTRIBUTE.findall(filter_):
            if name not in attrs:
                return False
            wanted = literal.strip("'") if literal.startswith("'") else float(literal)
            value = attrs[name] if isinstance(wanted, str) else float(attrs[name])
            if not ops[op](value, wanted):
                return False
        return True

    def answer(params: dict[str, str]) -> dict:
        filter_ = params.get("$filter", "")
        chosen = sorted((p for p in products if keep(p, filter_)), key=lambda p: p["ContentDate"]["Start"])
        skip, top = int(params.get("$skip", 0)), int(params.get("$top", 20))
        page = {"value": [{k: v for k, v in p.items() if not k.startswith("_")} for p in chosen[skip : skip + top]]}
        if params.get("$count") == "true":
            page["@odata.count"] = len(chosen)
        return page

    return answer


def _handler(state: Loopback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _send(self, code: int, body: bytes = b"", headers: dict | None = None) -> None:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, obj: object) -> None:
            self._send(code, json.dumps(obj).encode(), {"Content-Type": "application/json"})

        def _fault(self, path: str) -> str | None:
            queue = state.faults.get(path)
            return queue.popleft() if queue else None

        def _busy(self, fault: str | None) -> bool:
            """Answer a queued 429/500 fault ("429:N" sends Retry-After: N, "429-quota" none); False if `fault` is none
            of them."""
            if fault == "429-quota":
                self._send(429, b"Max session number 4 exceeded", {"Content-Type": "text/plain"})
                return True
            code, _, retry_after = (fault or "").partition(":")
            if code not in ("429", "500"):
                return False
            self._send(int(code), b"busy", {"Retry-After": retry_after or "0"})
            return True

        def _record(self, body: bytes = b"") -> None:
            state.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body.decode(errors="replace"),
                }
            )

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            self._record(body)
            path = urllib.parse.urlsplit(self.path).path
            fault = self._fault(path)
            if self._busy(fault):
                return
            if path != TOKEN_PATH:
                return self._send(404)
            form = dict(urllib.parse.parse_qsl(body.decode()))
            if form.get("client_id") != "cdse-public":
                return self._json(401, {"error": "invalid_client"})
            refused = {"error": "invalid_grant", "error_description": "Invalid user credentials"}
            if form.get("grant_type") == "password":
                user = form.get("username")
                if state.users.get(user) != form.get("password"):
                    return self._json(401, refused)
                if user in state.totp_secrets and not state.totp_accepts(user, form.get("totp")):
                    return self._json(401, refused)
                return self._json(200, state.new_token())
            if form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") not in state.valid_refresh:
                    return self._json(400, {"error": "invalid_grant", "error_description": "Session not active"})
                return self._json(200, state.new_token())
            return self._json(400, {"error": "unsupported_grant_type"})

        def do_GET(self) -> None:
            self._record()
            split = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(split.path)
            params = dict(urllib.parse.parse_qsl(split.query))
            fault = self._fault(path)
            if self._busy(fault):
                return
            if path in state.routes:
                answer = state.routes[path](params)
                status, body, content_type = answer if len(answer) == 3 else (200, *answer)
                return self._send(status, body, {"Content-Type": content_type})
            if path == f"{CATALOGUE_PATH}/Products" and state.catalogue is not None:
                return self._json(200, state.catalogue(params))
            if path.startswith(DOWNLOAD_PATH) or path in state.files:
                return self._file(path, fault)
            return self._send(404, b"not found")

        def _file(self, path: str, fault: str | None) -> None:
            if path.startswith(DOWNLOAD_PATH):
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if fault == "401" or token not in state.valid_tokens:
                    return self._json(401, {"detail": "Expired signature!"})
            data = state.files.get(path)
            if data is None:
                return self._send(404, b"not found")
            start = 0
            match = re.match(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if match:
                start = int(match.group(1))
            if start and state.refuse_range:
                return self._send(state.refuse_range, b"Range not supported", {"Content-Type": "text/plain"})
            body = data[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/zip")
            self.end_headers()
            if fault == "drop":
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)
                return
            self.wfile.write(body)

    return Handler


@contextlib.contextmanager
def run_server(state: S, handler: type[BaseHTTPRequestHandler]) -> Iterator[S]:
    """Serve `handler` on 127.0.0.1 (a free port, set as `state.server`) in a thread for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve() -> Iterator[Loopback]:
    """Run the loopback services in a thread for the duration of the block."""
    state = Loopback()
    with run_server(state, _handler(state)):
        yield state
