"""The request gate through a real `gazo serve`: auth before the body, body limits while it streams,
open mode only for loopback pages, and the connection limits uvicorn lacks (issue #15: 3, 4, 5, 6, 13)."""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.keys import create_key
from tests.support.server import GazoServer

LIMITS = """
[server]
max_upload_bytes = 1048576
max_json_bytes = 65536
header_timeout_s = 1.0
body_timeout_s = 1.0
max_connections = 40
"""


Closed = tuple[GazoServer, str]


def rss_kib(server: GazoServer) -> int:
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(server: GazoServer) -> int:
    assert server.process is not None
    return len(list(Path(f"/proc/{server.process.pid}/fd").iterdir()))


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GazoServer, str]]:
    """The built-in model behind small limits, with one API key (so every API request needs it)."""
    data_dir = tmp_path_factory.mktemp("gate-closed")
    config = data_dir / "gazo.toml"
    config.write_text(LIMITS)
    key = create_key(data_dir, "gate")
    with GazoServer(data_dir, config=config) as server:
        yield server, key


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GazoServer]:
    """No key was ever created: open mode on loopback."""
    data_dir = tmp_path_factory.mktemp("gate-open")
    with GazoServer(data_dir) as server:
        yield server


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def send_until_answered(server: GazoServer, head: bytes, chunks: Iterator[bytes]) -> tuple[bytes, int]:
    """Send `head`, then `chunks` one by one until the server answers; the answer and the MB sent."""
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as client:
        client.sendall(head)
        for chunk in chunks:
            if select.select([client], [], [], 0)[0]:
                break
            try:
                client.sendall(chunk)
            except OSError:  # the server answered and closed while we were still sending
                break
            sent += 1
        return read_reply(client), sent


def read_reply(client: socket.socket) -> bytes:
    """One whole HTTP response (headers and a Content-Length body) from a raw socket."""
    reply = b""
    while b"\r\n\r\n" not in reply and (chunk := client.recv(65536)):
        reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    lengths = [line.split(b":")[1] for line in lines if line.startswith(b"content-length")]
    length = int(lengths[0]) if lengths else 0
    while len(body) < length and (chunk := client.recv(65536)):
        body += chunk
    return head + b"\r\n\r\n" + body


def test_an_anonymous_100_mb_body_is_refused_before_a_byte_of_it_is_read(closed: Closed) -> None:
    server, _key = closed
    before = rss_kib(server)
    megabyte = b"a" * (1024 * 1024)
    head = (
        b"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunks = (b"%x\r\n%s\r\n" % (len(megabyte), megabyte) for _ in range(100))
    answer, sent = send_until_answered(server, head, chunks)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:300]
    assert b"invalid_api_key" in answer
    assert sent < 16, f"the server answered only after {sent} MB"
    assert rss_kib(server) - before < 20 * 1024


def test_a_declared_oversized_json_body_gets_413_without_being_read(closed: Closed) -> None:
    server, key = closed
    response = httpx.post(
        f"{server.base_url}/v1/images/generations",
        content=b"{" + b" " * 100_000 + b"}",
        headers={**auth(key), "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert "65536" in response.json()["error"]["message"]


def test_a_chunked_json_body_is_cut_off_at_the_limit(closed: Closed) -> None:
    server, key = closed

    def body() -> Iterator[bytes]:
        yield b'{"prompt": "'
        for _ in range(64):
            yield b"a" * 16384

    response = httpx.post(
        f"{server.base_url}/v1/images/generations",
        content=body(),  # a generator: sent chunked, no Content-Length
        headers={**auth(key), "content-type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"] == {
        "message": "The request body is larger than the 65536 bytes accepted here.",
        "type": "invalid_request_error",
        "param": None,
        "code": "payload_too_large",
    }


def test_a_chunked_upload_stops_at_its_file_limit_not_after_spooling_it(closed: Closed) -> None:
    server, key = closed
    start = (
        b'--B\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nmoon\r\n'
        b'--B\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
    )
    head = (
        b"POST /v1/images/edits HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + key.encode() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=B\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n" % (len(start), start)
    )
    megabyte = b"\0" * (1024 * 1024)
    chunks = (b"%x\r\n%s\r\n" % (len(megabyte), megabyte) for _ in range(300))  # a 300 MB file
    answer, sent = send_until_answered(server, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b'"param":"image"' in answer
    assert sent < 16, f"the server read {sent} MB of a 1 MB-limited upload before answering"


def test_verify_reads_at_most_a_megabyte_of_trust_anchors(closed: Closed) -> None:
    server, _key = closed
    files = [
        ("image", ("a.png", b"\x89PNG", "image/png")),
        ("trust", ("t.pem", b"x" * 2_000_000, "text/plain")),
    ]
    response = httpx.post(f"{server.base_url}/v1/provenance/verify", files=files)
    assert response.status_code == 413
    assert response.json()["error"]["param"] == "trust"


def test_a_body_that_stops_arriving_gets_408(closed: Closed) -> None:
    server, key = closed
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(
            b"POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"prompt\": "
        )
        started = time.monotonic()
        reply = read_reply(client)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b"request_timeout" in reply
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "request_id", ["x" * 101, "has space", "caf\u00e9"], ids=["too-long", "space", "non-ascii"]
)
def test_an_unsafe_request_id_is_refused_before_any_work(closed: Closed, request_id: str) -> None:
    server, key = closed
    response = httpx.post(
        f"{server.base_url}/v1/images/generations",
        json={"prompt": "a fox", "quality": "low", "size": "1024x1024"},
        headers={**auth(key), "x-request-id": request_id.encode()},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "X-Request-Id"


def test_a_safe_request_id_is_echoed(closed: Closed) -> None:
    server, key = closed
    request_id = "t-" + "7" * 98
    response = httpx.get(f"{server.base_url}/v1/models", headers={**auth(key), "x-request-id": request_id})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == request_id


def test_metrics_and_docs_need_a_key_while_keys_are_required(closed: Closed) -> None:
    server, key = closed
    for path in ("/metrics", "/openapi.json", "/docs"):
        assert httpx.get(f"{server.base_url}{path}").status_code == 401, path
        assert httpx.get(f"{server.base_url}{path}", headers=auth(key)).status_code == 200, path
    for path in ("/healthz", "/readyz", "/", "/v1/provenance/trust-anchor"):
        assert httpx.get(f"{server.base_url}{path}").status_code == 200, path


def test_the_playground_forbids_framing_and_foreign_scripts(closed: Closed) -> None:
    server, _key = closed
    page = httpx.get(f"{server.base_url}/")
    assert page.headers["x-frame-options"] == "DENY"
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self';" in policy


def test_too_many_or_too_large_headers_get_431(closed: Closed) -> None:
    server, _key = closed
    many = {f"x-header-{index}": "v" for index in range(120)}
    assert httpx.get(f"{server.base_url}/healthz", headers=many).status_code == 431
    large = {"x-large": "v" * 40_000}
    response = httpx.get(f"{server.base_url}/healthz", headers=large)
    assert response.status_code == 431
    assert response.json()["error"]["code"] == "request_header_fields_too_large"


def test_slow_header_connections_are_closed_and_never_pile_up(closed: Closed) -> None:
    server, _key = closed
    baseline = open_fds(server)
    sockets = []
    try:
        for _ in range(100):  # each sends half a request line, then nothing
            client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            sockets.append(client)
        time.sleep(0.3)
        assert open_fds(server) - baseline <= 40 + 2, "connections beyond server.max_connections were kept"
        deadline = time.monotonic() + 5
        while open_fds(server) - baseline > 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert open_fds(server) - baseline <= 2, "slow-header connections outlived server.header_timeout_s"
        assert sockets[0].recv(10) == b""  # closed by the server
    finally:
        for client in sockets:
            client.close()
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200


def test_open_mode_serves_loopback_pages_only(open_server: GazoServer) -> None:
    url = f"{open_server.base_url}/v1/models"
    assert httpx.get(url).status_code == 200
    assert httpx.get(url, headers={"origin": f"http://localhost:{open_server.port}"}).status_code == 200
    assert httpx.get(url, headers={"host": f"localhost:{open_server.port}"}).status_code == 200
    rebinding = httpx.get(url, headers={"host": f"attacker.example:{open_server.port}"})
    assert rebinding.status_code == 421
    assert rebinding.json()["error"]["code"] == "misdirected_request"
    foreign = httpx.post(
        f"{open_server.base_url}/v1/images/generations",
        json={"prompt": "a fox"},
        headers={"origin": "https://attacker.example"},
    )
    assert foreign.status_code == 403
    assert httpx.get(url, headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert "gazo runs OPEN" in open_server.log()


def revoke(data_dir: Path, name: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "gazo", "keys", "revoke", name, "--data-dir", str(data_dir)],
        check=True,
        capture_output=True,
        timeout=120,
    )


def test_revoking_the_last_key_keeps_the_server_closed(tmp_path: Path) -> None:
    key = create_key(tmp_path, "only")
    with GazoServer(tmp_path) as server:
        assert "requires an API key" in server.log()
        assert httpx.get(f"{server.base_url}/v1/models", headers=auth(key)).status_code == 200
        revoke(tmp_path, "only")
        time.sleep(1.1)  # a key found a moment ago is remembered for `billing.auth_cache_s` (1 s)
        for path in ("/v1/models", "/v1/organization/usage/images?start_time=0", "/metrics"):
            assert httpx.get(f"{server.base_url}{path}").status_code == 401, path
            assert httpx.get(f"{server.base_url}{path}", headers=auth(key)).status_code == 401, path
        generation = httpx.post(f"{server.base_url}/v1/images/generations", json={"prompt": "a fox"})
        assert generation.status_code == 401


def test_an_operator_may_keep_open_mode_after_keys_explicitly(tmp_path: Path) -> None:
    config = tmp_path / "gazo.toml"
    config.write_text("[billing]\nallow_open_with_keys = true\n")
    key = create_key(tmp_path, "kept")
    with GazoServer(tmp_path, config=config) as server:
        assert "gazo runs OPEN" in server.log()
        assert httpx.get(f"{server.base_url}/v1/models").status_code == 200
        assert httpx.get(f"{server.base_url}/v1/models", headers=auth(key)).status_code == 200
