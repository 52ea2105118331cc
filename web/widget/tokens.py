"""A visitor's token: a random visitor id bound to one scope (a store: every site of the store; or a
site with no store, `site<id>`), signed with the desk's
SECRET_KEY (HMAC-SHA256, a purpose label in the message so no other signed value of the desk can pass
for one). The widget keeps it in the shop page's localStorage; nothing about the visitor is stored
until they write."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

VISITOR_RE = re.compile(r"^[1-9][0-9]{23}$")
# A visitor id is 24 decimal digits (about 79 random bits): digits, because core's typing hint reads
# an identity's external_id as a number (`deliveries.operator_typing`).
_LOW, _SPAN = 10**23, 9 * 10**23


USER_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,32}$")  # a shop's user id (the identity's external_id stays <= 64)


@dataclass(frozen=True)
class Visitor:
    scope: str  # `scope_of` the site: a store's id, or `site<id>` for a site with no store
    id: str  # the identity's external_id on channel "web"
    user: str | None = None  # the shop's user id, when the shop's backend signed it


def user_hash(secret: str, user_id: str) -> str:
    """What the shop's backend computes for its logged-in user: hex(HMAC-SHA256(widget secret, user id))."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def scope_of(store_id: int | None, site_id: int) -> str:
    """A store's sites share their visitors (one person on the shop's two sites); a site with no store
    has its own. A store's scope is its id alone, as tokens were before sites, so they keep working."""
    return str(store_id) if store_id is not None else f"site{site_id}"


def verified_user(secret: str, scope: int | str, user_id: str, signature: str) -> Visitor | None:
    """The visitor a shop's user is on every device (`store:<id>:user:<user id>`, or `site:<id>:user:<user
    id>` on a site with no store); None if the id is not one a shop may send or the signature is not the
    site secret's."""
    if not USER_RE.match(user_id) or not hmac.compare_digest(signature.lower().encode(),
                                                             user_hash(secret, user_id).encode()):
        return None
    scope = str(scope)
    owner = f"site:{scope[4:]}" if scope.startswith("site") else f"store:{scope}"
    return Visitor(scope, f"{owner}:user:{user_id}", user_id)


def _signature(secret: str, scope: str, visitor: str) -> str:
    digest = hmac.new(secret.encode(), f"desk-widget-visitor:{scope}:{visitor}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(secret: str, scope: int | str) -> tuple[Visitor, str]:
    visitor = Visitor(str(scope), str(_LOW + secrets.randbelow(_SPAN)))
    return visitor, sign(secret, visitor)


def sign(secret: str, visitor: Visitor) -> str:
    return f"{visitor.scope}.{visitor.id}.{_signature(secret, visitor.scope, visitor.id)}"


def verify(secret: str, token: str, scope: int | str) -> Visitor | None:
    """The visitor of a token signed for this scope; None for anything else (forged, another store's)."""
    scope = str(scope)
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != scope or not VISITOR_RE.match(parts[1]):
        return None
    if not hmac.compare_digest(parts[2].encode(), _signature(secret, scope, parts[1]).encode()):
        return None
    return Visitor(scope, parts[1])
