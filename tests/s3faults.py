"""Faults between the vault and its S3 store, as a mitmproxy addon.

`deploy/local-cluster.sh` runs it with `mitmdump` in reverse mode in front of
Garage when S3_PROXY_ADDON names this file (tests/e2e/s3faults.rs does).
What it injects is steered by a JSON control file the test rewrites at will
(S3_FAULTS_CONTROL), and every injection is appended to a JSON-lines log
(S3_FAULTS_LOG) the moment it is decided, so the test can compare it with
the vault's own counters:

* ``unavailable``: this share of requests is answered 503 Slow Down, as S3
  does under load, without reaching Garage;
* ``stall``: this share is held ``stall_seconds`` (longer than the vault's
  time-out) and then delivered late, as a congested link does;
* ``reset_parts``: this share of multipart parts (UploadPart) has its
  connection cut as soon as the headers are in, while the part's body is
  still on its way;
* ``partition_until`` (Unix seconds): until then every request is held and
  its connection finally dropped, as a network partition does.

Garage itself answers 503 when one of its own internal calls times out (a
loaded machine can make it do so); such answers pass through untouched and
are logged as ``upstream_unavailable`` (other 5xx: ``upstream_server_error``)
with Garage's message, so that every failure the vault counts has a cause
seen on the wire.

The draws come from one seeded generator, so a run can be replayed.
"""

import asyncio
import json
import os
import random
import time

from mitmproxy import http

CONTROL = os.environ.get("S3_FAULTS_CONTROL", "")
LOG = os.environ.get("S3_FAULTS_LOG", "")

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
)


def operation(req: http.Request) -> str:
    """The S3 operation a request is, from its method and query."""
    q = req.query
    if req.method == "PUT":
        return "upload_part" if "partNumber" in q and "uploadId" in q else "put_object"
    if req.method == "POST":
        return "create_multipart" if "uploads" in q else "complete_multipart"
    if req.method == "GET":
        return "list" if "list-type" in q or "uploads" in q else "get_object"
    if req.method == "HEAD":
        return "head"
    if req.method == "DELETE":
        return "abort_multipart" if "uploadId" in q else "delete_object"
    return req.method.lower()


class Faults:
    def __init__(self) -> None:
        self.rng = random.Random(int(os.environ.get("S3_FAULTS_SEED", "21")))

    def control(self) -> dict:
        try:
            with open(CONTROL, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def note(self, fault: str, flow: http.HTTPFlow, detail: str = "") -> None:
        flow.metadata["s3faults"] = fault
        if not LOG:
            return
        line = {"at": time.time(), "fault": fault, "op": operation(flow.request)}
        if detail:
            line["detail"] = detail
        with open(LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        c = self.control()
        if not c.get("active") or time.time() < c.get("partition_until", 0):
            return
        if operation(flow.request) == "upload_part" and self.rng.random() < c.get("reset_parts", 0):
            self.note("reset", flow)
            flow.kill()

    async def request(self, flow: http.HTTPFlow) -> None:
        c = self.control()
        if not c.get("active"):
            return
        hold = c.get("stall_seconds", 10)
        until = c.get("partition_until", 0)
        if time.time() < until:
            self.note("partition", flow)
            await asyncio.sleep(until - time.time() + hold)
            flow.kill()
            return
        draw = self.rng.random()
        if draw < c.get("unavailable", 0):
            self.note("unavailable", flow)
            body = b"" if flow.request.method == "HEAD" else SLOW_DOWN
            flow.response = http.Response.make(503, body, {"Content-Type": "application/xml"})
        elif draw < c.get("unavailable", 0) + c.get("stall", 0):
            self.note("stall", flow)
            await asyncio.sleep(hold)

    def response(self, flow: http.HTTPFlow) -> None:
        # Answers of Garage's own making: the injected ones carry their mark.
        status = flow.response.status_code if flow.response else 0
        if status < 500 or "s3faults" in flow.metadata:
            return
        fault = "upstream_unavailable" if status == 503 else "upstream_server_error"
        detail = flow.response.get_text(strict=False) or ""
        self.note(fault, flow, f"{status} {detail[:300]}")


addons = [Faults()]
