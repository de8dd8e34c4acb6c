"""Bearer tokens: HS256 with the local secret, RS256 against a JWKS URL, roles and expiry."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import Authenticator, issue_token
from shared.settings import ServiceSettings

SECRET = "a-local-secret-long-enough-for-hs512-0123456789-abcdefghijklmnop"


def test_a_token_issued_for_the_demo_verifies_with_its_claims() -> None:
    auth = Authenticator(ServiceSettings(HELPDESK_JWT_SECRET=SECRET))
    principal = auth.verify(issue_token(SECRET, sub="ann", roles=["customer"], org="acme"))
    assert (principal.sub, principal.roles, principal.org) == ("ann", ["customer"], "acme")
    assert not principal.is_staff


@pytest.mark.parametrize(
    ("token", "error"),
    [
        (
            issue_token("another-secret-that-is-long-enough-0123", sub="x", roles=["admin"]),
            jwt.InvalidSignatureError,
        ),
        (issue_token(SECRET, sub="x", roles=["agent"], ttl_seconds=-10), jwt.ExpiredSignatureError),
        (
            jwt.encode({"roles": ["agent"], "exp": time.time() + 60}, SECRET),
            jwt.MissingRequiredClaimError,
        ),
        (
            jwt.encode({"sub": "x", "exp": time.time() + 60}, SECRET, algorithm="HS512"),
            jwt.InvalidAlgorithmError,
        ),
    ],
)
def test_a_forged_expired_or_incomplete_token_is_refused(
    token: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Authenticator(ServiceSettings(HELPDESK_JWT_SECRET=SECRET)).verify(token)


def test_a_service_without_any_key_refuses_to_start() -> None:
    with pytest.raises(RuntimeError, match="HELPDESK_JWT_SECRET"):
        Authenticator(ServiceSettings(HELPDESK_JWT_SECRET=""))


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, Any]]:
    """An identity provider's JWKS endpoint on loopback."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [jwk | {"kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks", key
    server.shutdown()


def test_an_external_identity_providers_rs256_token_is_checked_against_its_jwks(
    jwks_server: tuple[str, Any],
) -> None:
    url, key = jwks_server
    auth = Authenticator(ServiceSettings(HELPDESK_JWKS_URL=url))
    claims = {"sub": "kc-user", "roles": ["agent"], "exp": int(time.time()) + 60}
    good = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
    assert auth.verify(good).roles == ["agent"]
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidSignatureError):
        auth.verify(jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"}))
    with pytest.raises(jwt.PyJWTError):
        auth.verify(issue_token(SECRET, sub="x", roles=["admin"]))
