"""JWT bearer authentication: HS256 with a local secret, or RS256 against a JWKS URL."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt.types import Options
from pydantic import BaseModel, Field, ValidationError

from .settings import ServiceSettings


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SERVICE = "service"


STAFF = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.SERVICE)


class Principal(BaseModel):
    sub: str = Field(min_length=1, max_length=200)
    roles: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list, max_length=20)
    org: str | None = Field(default=None, min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)

    def has_any(self, roles: tuple[str, ...]) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def is_staff(self) -> bool:
        return self.has_any(STAFF)


class Authenticator:
    def __init__(self, settings: ServiceSettings) -> None:
        self._audience = settings.jwt_audience or None
        self._jwks = jwt.PyJWKClient(settings.jwks_url) if settings.jwks_url else None
        self._secret = settings.jwt_secret
        if self._jwks is None and not self._secret:
            raise RuntimeError("set HELPDESK_JWT_SECRET (HS256) or HELPDESK_JWKS_URL (RS256)")

    def verify(self, token: str) -> Principal:
        options: Options = {"require": ["sub", "exp"], "verify_aud": bool(self._audience)}
        if self._jwks is not None:
            key: Any = self._jwks.get_signing_key_from_jwt(token).key
            algorithms = ["RS256"]
        else:
            key, algorithms = self._secret, ["HS256"]
        claims = jwt.decode(
            token, key, algorithms=algorithms, audience=self._audience, options=options
        )
        try:
            principal = Principal.model_validate(claims)
        except ValidationError as exc:
            names = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
            raise InvalidClaims(f"the token's claims {', '.join(names)} are not valid") from None
        if Role.CUSTOMER in principal.roles and not principal.is_staff and principal.org is None:
            raise InvalidClaims("a customer's token must name the customer's organisation (org)")
        return principal


class InvalidClaims(ValueError):
    """Claims a signed token carries that this service cannot act on (said in plain words)."""


def _plain(exc: Exception) -> str:
    """What a client needs to know of a refused token, without the library's internals."""
    if isinstance(exc, InvalidClaims):
        return str(exc)
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "the token has expired"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return "the token is not valid yet"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "the token is not meant for this service"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"the token lacks the claim {exc.claim}"
    if isinstance(exc, jwt.PyJWKClientError):
        return "the token's signing key could not be found"
    if isinstance(exc, jwt.InvalidSignatureError | jwt.InvalidAlgorithmError):
        return "the token is not signed by an issuer this service trusts"
    return "the token is malformed"


_bearer = HTTPBearer(auto_error=False)


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise HTTPException(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
    auth: Authenticator = request.app.state.auth
    try:
        return auth.verify(credentials.credentials)
    except (jwt.PyJWTError, ValueError) as exc:
        detail = f"invalid token: {_plain(exc)}"
        raise HTTPException(401, detail, {"WWW-Authenticate": "Bearer"}) from None


CurrentUser = Annotated[Principal, Depends(authenticated)]


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only principals holding one of the roles."""

    async def check(user: CurrentUser) -> Principal:
        if not user.has_any(roles):
            names = sorted(str(role) for role in roles)
            needed = (
                f"the role {names[0]}"
                if len(names) == 1
                else f"one of the roles {', '.join(names)}"
            )
            raise HTTPException(403, f"this needs {needed}")
        return user

    return check


def issue_token(
    secret: str,
    *,
    sub: str,
    roles: list[str],
    org: str | None = None,
    name: str | None = None,
    email: str | None = None,
    ttl_seconds: int = 12 * 3600,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "roles": roles, "iat": now, "exp": now + ttl_seconds}
    claims.update({k: v for k, v in {"org": org, "name": name, "email": email}.items() if v})
    return jwt.encode(claims, secret, algorithm="HS256")
