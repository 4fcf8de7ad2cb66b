"""Loopback archives for range-read tests: a STAC API with files served by byte ranges, and an S3 server.

`serve_stac()` runs a STAC API on 127.0.0.1: POST /search filters its `items` by collections,
datetime and `intersects` (shapely) and pages them `limit` at a time with `next` links (POST with
a merged token, or GET with `get_paging`). Files (`files`, by path) are served by byte ranges
(206), and the bytes of every answer body are counted per path (`sent`). Faults are queued per
path and consumed one per request: "full" (the whole file with 200 whatever the Range), "503".

`moto_s3()` runs moto's S3 server in a subprocess with IAM authentication on: it yields the
endpoint and a boto3 client signed with a user's keys (`keys`); other keys are refused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import requests
import shapely
from shapely.geometry import shape

from loopback import Served, run_server


class StacArchive(Served):
    """State of the STAC API and file server: items, files, faults, counted bytes and the requests seen."""

    def __init__(self) -> None:
        self.items: list[dict] = []
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.sent: dict[str, int] = defaultdict(int)
        self.requests: list[dict] = []
        self.get_paging = False
        self.searches: dict[str, dict] = {}

    def fault(self, path: str, *kinds: str) -> None:
        """Queue faults for the next requests of `path`."""
        self.faults[path].extend(kinds)

    def add_file(self, path: str, data: bytes) -> str:
        """Serve `data` at `path`; its URL."""
        self.files[path] = data
        return f"{self.url}{path}"

    def found(self, body: dict) -> list[dict]:
        """The items a search body selects, in order."""
        geometry = shape(body["intersects"]) if body.get("intersects") else None
        start, _, end = str(body.get("datetime", "..")).partition("/")
        chosen = []
        for item in self.items:
            if body.get("collections") and item.get("collection") not in body["collections"]:
                continue
            when = item["properties"]["datetime"]
            if (start not in ("", "..") and when < start) or (end not in ("", "..") and when > end):
                continue
            if geometry is not None and not shapely.intersects(shape(item["geometry"]), geometry):
                continue
            chosen.append(item)
        return chosen


def _handler(state: StacArchive) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms wait for a delayed ACK

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def _send(self, code: int, body: bytes = b"", headers: dict | None = None, path: str | None = None) -> None:
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                # counted before the write: the client may have the bytes before write() returns here
                if path is not None:
                    state.sent[path] += len(body)
                self.wfile.write(body)

        def _page(self, body: dict, offset: int) -> None:
            found = state.found(body)
            limit = int(body.get("limit", 10))
            page = {"type": "FeatureCollection", "features": found[offset : offset + limit], "links": []}
            if offset + limit < len(found):
                if state.get_paging:
                    key = str(len(state.searches))
                    state.searches[key] = body
                    href = f"{state.url}/search?search={key}&offset={offset + limit}"
                    page["links"].append({"rel": "next", "href": href, "method": "GET"})
                else:
                    page["links"].append(
                        {
                            "rel": "next",
                            "href": f"{state.url}/search",
                            "method": "POST",
                            "body": {"token": f"next:{offset + limit}"},
                            "merge": True,
                        }
                    )
            self._send(200, json.dumps(page).encode(), {"Content-Type": "application/geo+json"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            state.requests.append({"method": "POST", "path": self.path, "body": dict(body)})
            if urllib.parse.urlsplit(self.path).path != "/search":
                return self._send(404, b"not found")
            offset = int(str(body.pop("token", "next:0")).split(":")[1])
            self._page(body, offset)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            split = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(split.path)
            state.requests.append({"method": self.command, "path": path, "range": self.headers.get("Range")})
            if path == "/search":
                params = dict(urllib.parse.parse_qsl(split.query))
                return self._page(dict(state.searches[params["search"]]), int(params["offset"]))
            data = state.files.get(path)
            if data is None:
                return self._send(404, b"not found")
            queue = state.faults.get(path)
            fault = queue.popleft() if queue and self.command == "GET" else None
            if fault == "503":
                return self._send(503, b"busy", {"Content-Type": "text/plain"}, path)
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if match is None or fault == "full":
                return self._send(200, data, {"Accept-Ranges": "bytes"}, path)
            start = int(match.group(1))
            end = min(int(match.group(2) or len(data) - 1), len(data) - 1)
            headers = {"Content-Range": f"bytes {start}-{end}/{len(data)}", "Accept-Ranges": "bytes"}
            self._send(206, data[start : end + 1], headers, path)

    return Handler


@contextlib.contextmanager
def serve_stac() -> Iterator[StacArchive]:
    """Run the STAC API and file server in a thread for the duration of the block."""
    state = StacArchive()
    with run_server(state, _handler(state)):
        yield state


@dataclasses.dataclass(frozen=True)
class MotoS3:
    """A running moto S3 server: its endpoint (host:port), a user's keys and a client signed with them."""

    endpoint: str
    keys: dict[str, str]
    client: object


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# IAM calls moto answers before it starts checking keys: create_user, create_access_key, put_user_policy
_SETUP_CALLS = 3
_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@contextlib.contextmanager
def moto_s3() -> Iterator[MotoS3]:
    """moto's S3 server with IAM authentication on, a user allowed everything on S3, and a bucket 'eodata'."""
    import boto3

    port = _free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(_SETUP_CALLS))
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{url}/moto-api/", timeout=5)
                break
            time.sleep(0.05)
        admin = {"aws_access_key_id": "admin", "aws_secret_access_key": "admin", "region_name": "us-east-1"}
        iam = boto3.client("iam", endpoint_url=url, **admin)
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.put_user_policy(UserName="reader", PolicyName="s3", PolicyDocument=json.dumps(_POLICY))
        keys = {"CDSE_S3_ACCESS_KEY": key["AccessKeyId"], "CDSE_S3_SECRET_KEY": key["SecretAccessKey"]}
        client = boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
            region_name="us-east-1",
        )
        client.create_bucket(Bucket="eodata")
        yield MotoS3(endpoint=f"127.0.0.1:{port}", keys=keys, client=client)
    finally:
        process.terminate()
        process.wait(timeout=10)
