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
from pydantic import BaseModel, Field

from .settings import ServiceSettings


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SERVICE = "service"


STAFF = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN, Role.SERVICE)


class Principal(BaseModel):
    sub: str
    roles: list[str] = Field(default_factory=list)
    org: str | None = None
    name: str | None = None
    email: str | None = None

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
        return Principal.model_validate(claims)


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
        raise HTTPException(401, f"invalid token: {exc}", {"WWW-Authenticate": "Bearer"}) from exc


CurrentUser = Annotated[Principal, Depends(authenticated)]


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets through only principals holding one of the roles."""

    async def check(user: CurrentUser) -> Principal:
        if not user.has_any(roles):
            raise HTTPException(403, f"needs one of the roles {sorted(roles)}")
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
