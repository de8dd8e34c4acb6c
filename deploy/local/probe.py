"""Readiness probes for the local infrastructure, standard library only.

    python3 probe.py kafka PORT   # Metadata request: a broker and an active controller
    python3 probe.py mongo PORT   # MongoDB wire protocol: {"ping": 1} answers ok: 1
    python3 probe.py sqlite-empty FILE   # the SQLite file has no tables at all

Exit status 0 when the server answers as expected, 1 otherwise (reason on stderr).
Used by deploy/local/infra.sh; works without any virtualenv or client library.
"""

from __future__ import annotations

import socket
import sqlite3
import struct
import sys

HOST = "127.0.0.1"
TIMEOUT = 3.0


def recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed by server")
        data += chunk
    return data


def kafka_metadata(port: int) -> str:
    """Send MetadataRequest v1 for no topics; return a description of the cluster."""
    client_id = b"switchboard-probe"
    header = struct.pack(">hhih", 3, 1, 7, len(client_id)) + client_id
    body = struct.pack(">i", 0)  # empty topic list: brokers and controller only
    request = header + body
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", recv_exact(sock, 4))
        payload = recv_exact(sock, size)
    pos = 4  # skip the correlation id
    (n_brokers,) = struct.unpack_from(">i", payload, pos)
    pos += 4
    for _ in range(n_brokers):
        pos += 4  # node id
        (host_len,) = struct.unpack_from(">h", payload, pos)
        pos += 2 + host_len + 4  # host, port
        (rack_len,) = struct.unpack_from(">h", payload, pos)
        pos += 2 + max(rack_len, 0)
    (controller,) = struct.unpack_from(">i", payload, pos)
    if n_brokers < 1 or controller < 0:
        raise RuntimeError(f"not ready: {n_brokers} broker(s), controller {controller}")
    return f"{n_brokers} broker(s), controller {controller}"


def bson_ping() -> bytes:
    elements = b"\x10ping\x00" + struct.pack("<i", 1)
    elements += b"\x02$db\x00" + struct.pack("<i", 6) + b"admin\x00"
    return struct.pack("<i", 4 + len(elements) + 1) + elements + b"\x00"


def bson_ok(doc: bytes) -> float:
    """Return the numeric top-level "ok" field of a BSON document (0.0 if absent)."""
    fixed = {0x01: 8, 0x08: 1, 0x09: 8, 0x0A: 0, 0x10: 4, 0x11: 8, 0x12: 8}
    pos = 4
    while pos < len(doc) - 1:
        kind = doc[pos]
        end = doc.index(b"\x00", pos + 1)
        name, pos = doc[pos + 1 : end], end + 1
        if name == b"ok":
            fmt = {0x01: "<d", 0x10: "<i", 0x12: "<q"}.get(kind)
            return float(struct.unpack_from(fmt, doc, pos)[0]) if fmt else 0.0
        if kind in fixed:
            pos += fixed[kind]
        elif kind in (0x02, 0x0D, 0x0E):  # string-like: int32 length + bytes
            pos += 4 + struct.unpack_from("<i", doc, pos)[0]
        elif kind in (0x03, 0x04):  # embedded document / array
            pos += struct.unpack_from("<i", doc, pos)[0]
        else:
            raise ValueError(f"unsupported BSON type {kind:#x} before 'ok'")
    return 0.0


def mongo_ping(port: int) -> str:
    """Send OP_MSG {ping: 1} to the admin database; return the ok value."""
    message = struct.pack("<I", 0) + b"\x00" + bson_ping()  # flags, section kind 0
    header = struct.pack("<iiii", 16 + len(message), 7, 0, 2013)
    with socket.create_connection((HOST, port), timeout=TIMEOUT) as sock:
        sock.sendall(header + message)
        (size,) = struct.unpack("<i", recv_exact(sock, 4))
        reply = recv_exact(sock, size - 4)
    ok = bson_ok(reply[12 + 4 + 1 :])  # rest of header, flags, section kind
    if ok != 1.0:
        raise RuntimeError(f"ping answered ok={ok}")
    return "ping ok"


def sqlite_empty(path: str) -> str:
    """Succeeds only for a readable SQLite file without a single table."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        (tables,) = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    if tables:
        raise RuntimeError(f"{tables} tables")
    return "no tables"


def main(argv: list[str]) -> int:
    probes = {
        "kafka": lambda arg: kafka_metadata(int(arg)),
        "mongo": lambda arg: mongo_ping(int(arg)),
        "sqlite-empty": sqlite_empty,
    }
    if len(argv) != 3 or argv[1] not in probes:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        print(probes[argv[1]](argv[2]))
    except (OSError, RuntimeError, ValueError, struct.error, sqlite3.Error) as exc:
        print(f"{argv[1]} probe failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
