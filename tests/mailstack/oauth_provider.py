"""The rules of the test authorization server (oauth_server.py): what a
provider knows (clients, codes, refresh tokens, device codes) and what each
grant gives, with no HTTP in it.

The HTTP side hands a grant the parsed form and the authenticated client id
and sends back the answer or the OAuthError it raises; admin operations
(oauth_admin.py) change the same state. One lock, `Provider.lock` (a
Condition on an RLock, so public methods may call each other), guards
everything; it also wakes hung token requests when a fault is cleared.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from urllib.parse import urlencode, urlsplit

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANTS = ("authorization_code", "refresh_token", DEVICE_GRANT)
# RFC 7636 section 4.1: the verifier's alphabet and length.
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# RFC 8628 section 6.1: consonants only, so a user code spells no word.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
# A hung request is served after this at the latest (a test that forgot to
# clear its fault).
HANG_MAX_SECONDS = 300

# A client's settings, and what each one means. A test changes them with
# POST /admin/clients/<client_id>; a new client (POST /admin/clients) starts
# from these.
DEFAULT_SETTINGS = {
    # Seconds an access token lives (its exp - iat; expires_in).
    "access_token_lifetime": 3600,
    # Each refresh grant answers a new refresh token and revokes the one
    # used (as Microsoft does); off, the refresh token stays (as Google).
    "rotate_refresh_tokens": False,
    # Seconds an authorization code may wait for its exchange.
    "code_lifetime": 60,
    # /authorize: "approve" redirects with a code, "deny" with
    # error=access_denied (the person clicked "Cancel").
    "authorize": "approve",
    # Device grant (RFC 8628): expires_in and interval of a new device code;
    # a poll sooner than interval after the last gets slow_down, and the
    # interval grows by slow_down_step (the RFC's 5 s).
    "device_expires_in": 600,
    "device_interval": 5,
    "slow_down_step": 5,
}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims, key, alg="HS256", typ="JWT", kid=None):
    """A JWS compact serialization (RFC 7515) of `claims`, HMAC-signed."""
    header = {"alg": alg, "typ": typ}
    if kid is not None:
        header["kid"] = kid

    def part(obj):
        return b64url(json.dumps(obj, separators=(",", ":")).encode())

    signing_input = part(header) + "." + part(claims)
    sig = hmac.new(key, signing_input.encode(), DIGESTS[alg]).digest()
    return signing_input + "." + b64url(sig)


def s256(verifier):
    """RFC 7636 section 4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def is_loopback_redirect(uri):
    """RFC 8252 section 7.3: http, the loopback IP literal, any port."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and parts.hostname == "127.0.0.1"
        and port is not None
        and not parts.fragment
    )


class OAuthError(Exception):
    """An error answer (RFC 6749 sections 4.1.2.1 and 5.2, RFC 8628 3.5)."""

    def __init__(self, error, description, status=400):
        super().__init__(error)
        self.error, self.description, self.status = error, description, status


class Provider:
    def __init__(self, issuer, key, users, default_user, client_id, client_secret):
        self.issuer = issuer
        self.key = key
        self.users = set(u.lower() for u in users)
        self.default_user = default_user.lower()
        self.lock = threading.Condition(threading.RLock())
        self.clients = {}  # client_id -> {secret, settings}
        self.add_client(client_id, client_secret, {})
        self.codes = {}  # authorization code -> the request it answers
        self.refresh_tokens = {}  # value -> {client_id, user, scope, revoked, code}
        self.devices = {}  # device_code -> device authorization
        self.faults = {}  # client_id or "*" -> {mode, remaining, until, retry_after, cleared}
        # Faults used up by their count, whose hung requests a clear must
        # still release: (scope, fault).
        self.spent = []
        self.events = []  # one per token endpoint request, in arrival order

    # -- clients -----------------------------------------------------------

    def add_client(self, client_id, secret, settings):
        unknown = set(settings) - set(DEFAULT_SETTINGS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}")
        with self.lock:
            merged = dict(DEFAULT_SETTINGS)
            merged.update(settings)
            self.clients[client_id] = {"secret": secret, "settings": merged}

    def settings(self, client_id):
        with self.lock:
            return self.clients[client_id]["settings"]

    def authenticate_client(self, client_id, secret):
        """RFC 6749 section 2.3.1; `secret` None: a public client (RFC 8252
        section 8.4), known by its id alone."""
        with self.lock:
            client = self.clients.get(client_id)
        if client is None:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        if secret is not None and not hmac.compare_digest(secret, client["secret"]):
            raise OAuthError("invalid_client", "Unauthorized", 401)

    # -- tokens ------------------------------------------------------------

    def issue(self, client_id, user, scope, now, refresh_token=None, code=None):
        """A token response (RFC 6749 section 5.1) and its access token's
        exp; a new refresh token unless `refresh_token` is kept."""
        with self.lock:
            return self._issue(client_id, user, scope, now, refresh_token, code)

    def _issue(self, client_id, user, scope, now, refresh_token, code):
        lifetime = int(self.settings(client_id)["access_token_lifetime"])
        claims = {
            "iss": self.issuer,
            "sub": user,
            "aud": client_id,
            "iat": int(now),
            "exp": int(now) + lifetime,
            "scope": scope,
            "jti": secrets.token_hex(8),
        }
        answer = {
            "access_token": jwt(claims, self.key),
            "token_type": "Bearer",
            "expires_in": lifetime,
            "scope": scope,
        }
        if refresh_token is None:
            refresh_token = secrets.token_urlsafe(32)
            self.refresh_tokens[refresh_token] = {
                "client_id": client_id,
                "user": user,
                "scope": scope,
                "revoked": False,
                "code": code,
            }
            answer["refresh_token"] = refresh_token
        return answer, claims["exp"]

    # -- the authorization endpoint ----------------------------------------

    def approve(self, client_id, redirect_uri, challenge, scope, login_hint):
        """The person's answer to an authorization request that passed the
        checks: a new code (single use, short-lived), or access_denied."""
        user = (login_hint or self.default_user).lower()
        with self.lock:
            settings = self.settings(client_id)
            if settings["authorize"] == "deny" or user not in self.users:
                # The person refused, or is no user of this mail service.
                raise OAuthError("access_denied", "The user denied access")
            code = secrets.token_urlsafe(24)
            self.codes[code] = {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "challenge": challenge,
                "scope": scope,
                "user": user,
                "expires_at": time.time() + float(settings["code_lifetime"]),
                "used": False,
            }
            return code

    # -- the token endpoint ------------------------------------------------

    def grant(self, form, client_id, now):
        with self.lock:
            grant = form.get("grant_type")
            if grant == "authorization_code":
                return self.authorization_code_grant(form, client_id, now)
            if grant == "refresh_token":
                return self.refresh_token_grant(form, client_id, now)
            if grant == DEVICE_GRANT:
                return self.device_code_grant(form, client_id, now)
            raise OAuthError("unsupported_grant_type", f"Unsupported grant_type {grant!r}")

    def authorization_code_grant(self, form, cid, now):
        """RFC 6749 section 4.1.3, with RFC 7636 section 4.6's check."""
        value = form.get("code", "")
        code = self.codes.get(value)
        if code is None:
            raise OAuthError("invalid_grant", "Malformed auth code.")
        if code["used"]:
            # RFC 6749 section 4.1.2: a code used twice revokes what it gave.
            for rt in self.refresh_tokens.values():
                if rt["code"] == value:
                    rt["revoked"] = True
            raise OAuthError("invalid_grant", "Authorization code has already been used.")
        if now > code["expires_at"]:
            raise OAuthError("invalid_grant", "Authorization code has expired.")
        if code["client_id"] != cid:
            raise OAuthError("invalid_grant", "Authorization code was issued to another client.")
        if form.get("redirect_uri") != code["redirect_uri"]:
            raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request.")
        verifier = form.get("code_verifier")
        if verifier is None:
            raise OAuthError("invalid_request", "Missing code verifier.")
        if not VERIFIER.match(verifier) or not hmac.compare_digest(s256(verifier), code["challenge"]):
            raise OAuthError("invalid_grant", "Invalid code verifier.")
        code["used"] = True
        return self.issue(cid, code["user"], code["scope"], now, code=value)

    def refresh_token_grant(self, form, cid, now):
        """RFC 6749 section 6."""
        value = form.get("refresh_token", "")
        rt = self.refresh_tokens.get(value)
        if rt is None or rt["revoked"]:
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        if rt["client_id"] != cid:
            raise OAuthError("invalid_grant", "Token was issued to another client.")
        scope = form.get("scope") or rt["scope"]
        if not set(scope.split()) <= set(rt["scope"].split()):
            raise OAuthError("invalid_scope", "The requested scope exceeds the granted scope.")
        if self.settings(cid)["rotate_refresh_tokens"]:
            rt["revoked"] = True
            return self.issue(cid, rt["user"], scope, now, code=rt["code"])
        return self.issue(cid, rt["user"], scope, now, refresh_token=value)

    def device_code_grant(self, form, cid, now):
        """RFC 8628 sections 3.4-3.5."""
        dev = self.devices.get(form.get("device_code", ""))
        if dev is None or dev["client_id"] != cid or dev["status"] == "used":
            raise OAuthError("invalid_grant", "Bad device code.")
        last, dev["last_poll"] = dev["last_poll"], now
        if dev["status"] == "expired" or now >= dev["expires_at"]:
            dev["status"] = "expired"
            raise OAuthError("expired_token", "The device code has expired.")
        if dev["status"] == "denied":
            raise OAuthError("access_denied", "The user denied the request.")
        if last is not None and now - last < dev["interval"]:
            dev["interval"] += self.settings(cid)["slow_down_step"]
            raise OAuthError("slow_down", f"Polling too fast; wait {dev['interval']} s between requests.")
        if dev["status"] == "pending":
            raise OAuthError("authorization_pending", "The user has not yet approved the request.")
        dev["status"] = "used"
        return self.issue(cid, dev["user"], dev["scope"], now)

    # -- the device authorization endpoint ---------------------------------

    def device_authorization(self, cid, scope, verification_uri):
        """RFC 8628 section 3.2's answer for a new device code."""
        if not scope:
            raise OAuthError("invalid_scope", "Missing required parameter: scope")
        with self.lock:
            settings = self.settings(cid)
            device_code = secrets.token_urlsafe(32)
            user_code = "-".join(
                "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(4)) for _ in range(2)
            )
            self.devices[device_code] = {
                "client_id": cid,
                "user_code": user_code,
                "scope": scope,
                "expires_at": time.time() + float(settings["device_expires_in"]),
                "interval": int(settings["device_interval"]),
                "status": "pending",
                "user": None,
                "last_poll": None,
            }
            return {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": verification_uri,
                "verification_uri_complete": verification_uri + "?" + urlencode({"user_code": user_code}),
                "expires_in": int(settings["device_expires_in"]),
                "interval": int(settings["device_interval"]),
            }

    def device_status(self, user_code):
        with self.lock:
            for dev in self.devices.values():
                if dev["user_code"] == user_code.upper():
                    return dev["status"]
        return None

    # -- the revocation endpoint -------------------------------------------

    def revoke(self, cid, token):
        """RFC 7009 section 2.1: a refresh token of this client is revoked;
        anything else is ignored (the answer is 200 all the same)."""
        with self.lock:
            rt = self.refresh_tokens.get(token)
            if rt is not None and rt["client_id"] == cid:
                rt["revoked"] = True

    # -- faults and the record ---------------------------------------------

    def record(self, event):
        with self.lock:
            self.events.append(event)

    def fault_for(self, client_id, now):
        """The fault that applies to this token request, if any; counts it
        down."""
        with self.lock:
            for scope in (client_id, "*"):
                fault = self.faults.get(scope)
                if fault is None:
                    continue
                if fault["until"] is not None and now >= fault["until"]:
                    del self.faults[scope]
                    continue
                if fault["remaining"] is not None:
                    fault["remaining"] -= 1
                    if fault["remaining"] <= 0:
                        del self.faults[scope]
                        self.spent.append((scope, fault))
                return fault
        return None

    def hang(self, fault):
        """Holds the calling request until `fault` is cleared or over (or
        HANG_MAX_SECONDS pass)."""
        deadline = time.time() + HANG_MAX_SECONDS
        with self.lock:
            # Not "gone from self.faults": the last of `count` hung requests
            # removes its fault there, and must hang all the same.
            while not fault["cleared"]:
                now = time.time()
                end = deadline if fault["until"] is None else min(deadline, fault["until"])
                if now >= end:
                    return
                self.lock.wait(timeout=end - now)
