"""Apps and user tokens: HS256 JWTs with the algorithm pinned.

A token's claims: ``user_id`` (required), ``iat`` (required), ``exp`` and ``nbf``
(optional), ``role`` (``user`` or ``admin``, default ``user``) and ``call_cids`` (optional:
restricts the token to those calls). Each app is an API key with its own secret; a token
signed with another app's secret is a signature error, never a cross-app login.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

import jwt
from jwt.types import Options

from streamcall_widget.errors import (
    AuthenticationError,
    TokenExpired,
    TokenNotValidYet,
    TokenSignatureInvalid,
    TokenUsedBeforeIssuedAt,
    UnknownApiKey,
    UserMismatch,
)

__all__ = ["ALGORITHM", "MIN_SECRET_BYTES", "App", "Claims", "Verifier", "mint_token", "new_app"]

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
"""HS256 keys shorter than its 32-byte output weaken it (RFC 7518 §3.2); ``serve`` refuses
them unless told to accept the risk. PyJWT warns below this size too."""
_ROLES = ("user", "admin")
LEEWAY_SECONDS = 5.0
"""Clock skew tolerated between the machine that minted a token and the coordinator."""


@dataclass(frozen=True)
class App:
    """One application: an API key and the secret its tokens are signed with."""

    api_key: str
    api_secret: str


@dataclass(frozen=True)
class Claims:
    """The verified content of a user token."""

    user_id: str
    role: str
    call_cids: tuple[str, ...] | None
    expires_at: float | None


def new_app() -> App:
    """A fresh app with random key and secret (the embedded coordinator's)."""
    # Hex, so a secret pasted after --api-secret never starts with "-".
    return App(api_key=secrets.token_hex(8), api_secret=secrets.token_hex(32))


def mint_token(
    secret: str,
    user_id: str,
    *,
    ttl: float | None = None,
    role: str | None = None,
    call_cids: list[str] | None = None,
    now: float | None = None,
) -> str:
    """A signed user token; ``ttl`` seconds of validity, or no expiry when None."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, object] = {"user_id": user_id, "iat": issued}
    if ttl is not None:
        claims["exp"] = issued + int(ttl)
    if role is not None:
        claims["role"] = role
    if call_cids is not None:
        claims["call_cids"] = call_cids
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


_TIME_CLAIMS = ("iat", "exp", "nbf")


def _decode(token: str, secret: str, *, check_times: bool) -> dict[str, object]:
    """The token's claims once its HS256 signature (and, if asked, its times) hold."""
    options: Options = {
        "require": ["iat"],
        "verify_aud": False,
        "verify_iat": check_times,
        "verify_exp": check_times,
        "verify_nbf": check_times,
    }
    try:
        claims: dict[str, object] = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options=options, leeway=LEEWAY_SECONDS
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired("the token has expired; get a new one") from None
    except jwt.ImmatureSignatureError as exc:
        if "iat" in str(exc):
            raise TokenUsedBeforeIssuedAt("the token's iat is in the future") from None
        raise TokenNotValidYet("the token's nbf is in the future") from None
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError):
        raise TokenSignatureInvalid(
            f"the token is not signed with this app's secret using {ALGORITHM}"
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthenticationError(f"the token lacks the {exc.claim!r} claim") from None
    except jwt.InvalidTokenError as exc:
        raise AuthenticationError(f"the token is malformed: {exc}") from None
    return claims


def _check_time_claims(claims: dict[str, object]) -> None:
    """``iat``, ``exp`` and ``nbf`` are JSON integers (seconds since the epoch), as the
    protocol says: a string, a fraction or a boolean is refused, naming the claim."""
    for claim in _TIME_CLAIMS:
        value = claims.get(claim)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise AuthenticationError(
                f"the token's {claim!r} claim must be an integer (seconds since the epoch), "
                f"not {type(value).__name__} {value!r}"
            )


class Verifier:
    """Checks (api_key, token, user id) against the registered apps."""

    def __init__(self, apps: Mapping[str, App]) -> None:
        self._apps = dict(apps)

    def verify(self, api_key: str, token: str, user_id: str) -> Claims:
        """The token's claims, or the AuthenticationError subclass that says what failed."""
        app = self._apps.get(api_key)
        if app is None:
            raise UnknownApiKey("no app is registered under this API key")
        # Signature first, times unchecked: the time claims' types are ours to check before
        # PyJWT reads them (it takes int("123"), a string, as a time).
        claims = _decode(token, app.api_secret, check_times=False)
        _check_time_claims(claims)
        _decode(token, app.api_secret, check_times=True)
        return self._claims(claims, user_id)

    @staticmethod
    def _claims(claims: dict[str, object], user_id: str) -> Claims:
        token_user = claims.get("user_id")
        if not isinstance(token_user, str) or not token_user:
            raise AuthenticationError("the token lacks a 'user_id' claim")
        if token_user != user_id:
            raise UserMismatch(f"the token is for {token_user!r}, not {user_id!r}")
        role = claims.get("role", "user")
        if role not in _ROLES:
            raise AuthenticationError(f"token role {role!r} is unknown; allowed: {_ROLES}")
        cids = claims.get("call_cids")
        if cids is not None and not (
            isinstance(cids, list) and all(isinstance(c, str) for c in cids)
        ):
            raise AuthenticationError("the token's 'call_cids' must be a list of call cids")
        exp = claims.get("exp")
        return Claims(
            user_id=token_user,
            role=str(role),
            call_cids=tuple(cids) if cids is not None else None,
            expires_at=float(exp) if isinstance(exp, int) else None,
        )
