"""Real HTTP servers on 127.0.0.1 that play NASA Earthdata: CMR search, Earthdata Login, a DAAC and its S3 bucket.

Four servers on four ports, so that each is a host of its own as far as a client's redirect handling goes:

- cmr: GET /search/granules.umm_json answers UMM-JSON pages. Either `recorded` pages (body and the CMR-Hits
  and CMR-Search-After headers CMR really sent; a request must carry the previous page's CMR-Search-After
  to get the next page) or `granules` filtered by short_name, version, provider and temporal[] and paged by
  page_size with a CMR-Search-After token of its own.
- edl: GET /oauth/authorize checks HTTP Basic credentials against `users`: a match redirects to the
  redirect_uri with a one-time code, anything else answers 401 with Earthdata Login's recorded
  invalid_credentials body.
- daac: GET <file> answers a valid bearer token (`tokens`) or session cookie with a 307 to the bucket's
  signed address; without either it redirects to edl's /oauth/authorize (the redirect flow), and
  /login?code=...&state=<file> turns a valid code into the session cookie and a redirect to the file.
  An unknown bearer token answers 401.
- bucket: GET /<file>?X-Amz-Signature=... serves `files`, with Range.

Faults are queued per path (on daac and bucket: the file's path) and consumed one per request: "429"
(Retry-After: 0), "500", "401" (daac) and "drop" (bucket: half the body, then the connection closes).
Every request is recorded with its server, path and headers in `requests`.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from loopback import Served

GRANULES_PATH = "/search/granules.umm_json"
INVALID_CREDENTIALS = {"error": "invalid_credentials", "error_description": "Invalid user credentials"}


class Earthdata:
    """Shared state of the four servers."""

    def __init__(self) -> None:
        self.cmr, self.edl, self.daac, self.bucket = Served(), Served(), Served(), Served()
        self.recorded: list[tuple[dict, dict]] | None = None
        self.granules: list[dict] = []
        self.users: dict[str, str] = {}
        self.tokens: set[str] = set()
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.requests: list[dict] = []
        self.codes: set[str] = set()
        self.sessions: set[str] = set()
        self._lock = threading.Lock()

    def fault(self, path: str, *kinds: str) -> None:
        """Queue faults for the next requests of `path`."""
        self.faults[path].extend(kinds)

    def next_fault(self, path: str) -> str | None:
        with self._lock:
            queue = self.faults.get(path)
            return queue.popleft() if queue else None

    def file_url(self, path: str) -> str:
        """The DAAC address of a file."""
        return f"{self.daac.url}{path}"


def _handler(state: Earthdata, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _send(self, code: int, body: bytes = b"", headers: dict | None = None) -> None:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, obj: object, headers: dict | None = None) -> None:
            self._send(code, json.dumps(obj).encode(), {"Content-Type": "application/json"} | (headers or {}))

        def do_GET(self) -> None:
            split = urllib.parse.urlsplit(self.path)
            path, query = urllib.parse.unquote(split.path), urllib.parse.parse_qs(split.query)
            state.requests.append({"server": role, "path": self.path, "headers": dict(self.headers)})
            fault = state.next_fault(path) if role in ("daac", "bucket", "cmr") else None
            if fault in ("429", "500"):
                return self._send(int(fault), b"busy", {"Retry-After": "0", "Content-Type": "text/plain"})
            getattr(self, f"_{role}")(path, query, fault)

        def _cmr(self, path: str, query: dict, fault: str | None) -> None:
            if path != GRANULES_PATH:
                return self._send(404, b"not found")
            after = self.headers.get("CMR-Search-After")
            if state.recorded is not None:
                return self._recorded(after)
            wanted = [g for g in state.granules if _matches(g, query)]
            size = int(query.get("page_size", ["10"])[0])
            start = int(json.loads(after)[1]) if after else 0
            page = wanted[start : start + size]
            headers = {"CMR-Hits": len(wanted)}
            if start + size < len(wanted):
                headers["CMR-Search-After"] = json.dumps(["loopback", start + size])
            self._json(200, {"hits": len(wanted), "took": 1, "items": page}, headers)

        def _recorded(self, after: str | None) -> None:
            sent = [None] + [h.get("CMR-Search-After") for _, h in state.recorded]
            if after not in sent[: len(state.recorded)]:
                return self._json(400, {"errors": [f"CMR-Search-After [{after}] is not valid"]})
            body, headers = state.recorded[sent.index(after)]
            self._json(200, body, headers)

        def _edl(self, path: str, query: dict, fault: str | None) -> None:
            if path != "/oauth/authorize":
                return self._send(404, b"not found")
            auth = self.headers.get("Authorization", "")
            user, _, password = (
                base64.b64decode(auth.removeprefix("Basic ") or b"").decode().partition(":")
                if auth.startswith("Basic ")
                else ("", "", "")
            )
            if not user or state.users.get(user) != password:
                return self._json(401, INVALID_CREDENTIALS)
            code = secrets.token_hex(8)
            state.codes.add(code)
            target = query["redirect_uri"][0] + "?" + urllib.parse.urlencode({"code": code, "state": query["state"][0]})
            self._send(302, b"", {"Location": target})

        def _daac(self, path: str, query: dict, fault: str | None) -> None:
            if path == "/login":
                code = query.get("code", [""])[0]
                if code not in state.codes:
                    return self._json(401, {"error": "invalid code"})
                state.codes.discard(code)
                cookie = secrets.token_hex(8)
                state.sessions.add(cookie)
                return self._send(
                    302,
                    b"",
                    {
                        "Location": state.daac.url + query["state"][0],
                        "Set-Cookie": f"accessToken={cookie}; Path=/; HttpOnly",
                    },
                )
            if path not in state.files:
                return self._send(404, b"not found")
            auth = self.headers.get("Authorization", "")
            cookies = dict(c.strip().split("=", 1) for c in self.headers.get("Cookie", "").split(";") if "=" in c)
            if fault == "401" or (auth.startswith("Bearer ") and auth.removeprefix("Bearer ") not in state.tokens):
                return self._json(401, {"error": "invalid_token", "error_description": "The token is not valid"})
            if auth.startswith("Bearer ") or cookies.get("accessToken") in state.sessions:
                signed = f"{state.bucket.url}/bucket{path}?X-Amz-Signature={secrets.token_hex(8)}"
                return self._send(307, b"", {"Location": signed})
            login = (
                state.edl.url
                + "/oauth/authorize?"
                + urllib.parse.urlencode(
                    {
                        "client_id": "daac",
                        "response_type": "code",
                        "redirect_uri": f"{state.daac.url}/login",
                        "state": path,
                    }
                )
            )
            self._send(302, b"", {"Location": login})

        def _bucket(self, path: str, query: dict, fault: str | None) -> None:
            file = path.removeprefix("/bucket")
            if file not in state.files or "X-Amz-Signature" not in query:
                return self._send(403, b"AccessDenied", {"Content-Type": "application/xml"})
            if "Authorization" in self.headers:
                return self._send(
                    400, b"InvalidArgument: only one auth mechanism allowed", {"Content-Type": "application/xml"}
                )
            data = state.files[file]
            start = 0
            if self.headers.get("Range", "").startswith("bytes="):
                start = int(self.headers["Range"][6:].split("-")[0])
            body = data[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "application/octet-stream")
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


def _matches(granule: dict, query: dict) -> bool:
    """Whether a UMM-JSON item fits a query's short_name, version, provider and temporal[] range."""
    umm, meta = granule["umm"], granule["meta"]
    collection = umm["CollectionReference"]
    if query.get("short_name", [collection["ShortName"]])[0] != collection["ShortName"]:
        return False
    if query.get("version", [collection["Version"]])[0] != collection["Version"]:
        return False
    if query.get("provider", [meta["provider-id"]])[0] != meta["provider-id"]:
        return False
    if "temporal[]" in query:
        first, last = query["temporal[]"][0].split(",")
        span = umm["TemporalExtent"]["RangeDateTime"]
        if span["EndingDateTime"][:19] < first[:19] or span["BeginningDateTime"][:19] > last[:19]:
            return False
    return True


@contextlib.contextmanager
def _run(served: Served, handler: type[BaseHTTPRequestHandler]) -> Iterator[Served]:
    """loopback.run_server with a short poll interval: four servers stop in a fraction of a second, not two."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    served.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve_earthdata() -> Iterator[Earthdata]:
    """Run the four servers in threads for the duration of the block."""
    state = Earthdata()
    with contextlib.ExitStack() as stack:
        for role in ("cmr", "edl", "daac", "bucket"):
            stack.enter_context(_run(getattr(state, role), _handler(state, role)))
        yield state
