#!/usr/bin/env python3
"""A test OAuth 2.0 authorization server for one mailstack instance.

It plays the provider (Google, Microsoft) that a mail client signs in with:
the authorization code grant with PKCE and a loopback redirect (RFC 6749
section 4.1, RFC 7636, RFC 8252), the refresh token grant (RFC 6749 section
6), the device authorization grant (RFC 8628), token revocation (RFC 7009)
and a discovery document. Access tokens are JWTs signed (HS256) with the
stack's key, which Dovecot validates locally (tests/mailstack/oauth2.conf.ext.in):
the server is never asked whether a token is good, as with a real provider
whose JWTs a mail server checks offline.

What a real provider does by a person at a browser, this one does at once or
through /admin (tests only): /authorize approves without a page; a device
code waits until a test approves, denies or expires it. /admin also sets a
client's token lifetime and refresh-token rotation, revokes refresh tokens,
makes /token fail for a while (hang, 500, 503, a dropped connection), mints
tokens that must be refused (expired, wrong key, wrong issuer), and returns
the record of every token request (grant, client, time, outcome), so a test
can check when a client refreshed and that it did not retry in a storm.

State is in memory, one lock for all of it. Every request is logged to the
log file as one line: method, path, client, grant, status, error; never a
token, code, verifier, secret or query string.

Started by `mailstack start-oauth DIR` (python3 oauth_server.py --help for
the arguments): it binds its port, then forks; the parent returns once the
child is serving, so the script needs no wait loop.
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANTS = ("authorization_code", "refresh_token", DEVICE_GRANT)
# RFC 7636 section 4.1: the verifier's alphabet and length.
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# RFC 8628 section 6.1: consonants only, so a user code spells no word.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
# A released hang never waits longer than this (a test that forgot to clear it).
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
    part = lambda obj: b64url(json.dumps(obj, separators=(",", ":")).encode())  # noqa: E731
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
    """An error answer of the token or device endpoint (RFC 6749 section 5.2)."""

    def __init__(self, error, description, status=400):
        super().__init__(error)
        self.error, self.description, self.status = error, description, status


class State:
    """Everything the server knows, behind one lock (`cond`, which also
    wakes hung token requests when a fault is cleared)."""

    def __init__(self, args, key):
        self.issuer = args.issuer
        self.key = key
        self.users = set(u.lower() for u in args.users.split(",") if u)
        self.default_user = args.default_user
        self.cond = threading.Condition()
        self.clients = {}
        self.add_client(args.client_id, args.client_secret, {})
        self.codes = {}  # code -> grant details
        self.refresh_tokens = {}  # refresh token -> {client_id, user, scope, revoked, code}
        self.devices = {}  # device_code -> device authorization
        self.faults = {}  # client_id or "*" -> {mode, remaining, until, retry_after, cleared}
        # Faults used up by their count, whose hung requests a clear must
        # still release: (scope, fault).
        self.spent = []
        self.events = []  # one per token endpoint request

    def add_client(self, client_id, secret, settings):
        unknown = set(settings) - set(DEFAULT_SETTINGS)
        if unknown:
            raise ValueError(f"unknown settings {sorted(unknown)}")
        merged = dict(DEFAULT_SETTINGS)
        merged.update(settings)
        self.clients[client_id] = {"secret": secret, "settings": merged}

    def settings(self, client_id):
        return self.clients[client_id]["settings"]

    def access_token(self, client_id, user, scope, now):
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
        return jwt(claims, self.key), claims["exp"], lifetime

    def issue(self, client_id, user, scope, now, refresh_token=None, code=None):
        """A token response; a new refresh token unless `refresh_token` is
        kept (RFC 6749 section 5.1)."""
        token, exp, lifetime = self.access_token(client_id, user, scope, now)
        answer = {
            "access_token": token,
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
        return answer, exp

    # -- faults ------------------------------------------------------------

    def fault_for(self, client_id, now):
        """The fault that applies to this token request, if any; counts it
        down."""
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

    @staticmethod
    def hang_released(fault):
        # Not "gone from self.faults": the last of `count` hung requests
        # removes its fault there, and must hang all the same.
        return fault["cleared"] or (fault["until"] is not None and time.time() >= fault["until"])


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mailstack-oauth/1"
    state: State  # set on the class before serving

    # -- plumbing ------------------------------------------------------------

    def log_message(self, fmt, *args):  # the access log is ours (log_line)
        pass

    def log_line(self, status, client_id="-", grant="-", error="-"):
        line = "%s %s %s %d client=%s grant=%s error=%s %.1fms\n" % (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
            self.command,
            urlsplit(self.path).path,
            status,
            client_id or "-",
            grant or "-",
            error or "-",
            (time.monotonic() - self.started) * 1000,
        )
        with open(self.server.log_path, "a") as log:
            log.write(line)

    def send(self, status, body, ctype="application/json", headers=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        # RFC 6749 section 5.1: token responses must not be cached.
        self.send_header("Cache-Control", "no-store")
        self.send_header("Pragma", "no-cache")
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_json(self, status, obj, headers=()):
        self.send(status, json.dumps(obj), "application/json;charset=UTF-8", headers)

    def redirect(self, location):
        self.send(302, b"", "text/plain", [("Location", location)])

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def form(self):
        """The form-encoded body; RFC 6749 section 3.2: no parameter twice."""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        raw = self.body().decode("utf-8", "replace")
        if ctype != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        return single_values(parse_qs(raw, keep_blank_values=True))

    def json_body(self):
        raw = self.body()
        return json.loads(raw) if raw.strip() else {}

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def dispatch(self):
        self.started = time.monotonic()
        path = urlsplit(self.path).path
        routes = {
            ("GET", "/authorize"): self.authorize,
            ("POST", "/token"): self.token,
            ("POST", "/device"): self.device,
            ("POST", "/revoke"): self.revoke,
            ("GET", "/.well-known/openid-configuration"): self.discovery,
            ("GET", "/.well-known/oauth-authorization-server"): self.discovery,
        }
        handler = routes.get((self.command, path))
        if handler is None and path.startswith("/admin/"):
            handler = self.admin
        if handler is None:
            self.send_json(404, {"error": "not_found"})
            self.log_line(404)
            return
        try:
            handler()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. on a hang)

    # -- the provider's endpoints --------------------------------------------

    def discovery(self):
        base = self.server.base_url
        self.send_json(
            200,
            {
                "issuer": self.state.issuer,
                "authorization_endpoint": base + "/authorize",
                "token_endpoint": base + "/token",
                "device_authorization_endpoint": base + "/device",
                "revocation_endpoint": base + "/revoke",
                "response_types_supported": ["code"],
                "grant_types_supported": list(GRANTS),
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            },
        )
        self.log_line(200)

    def authorize(self):
        """RFC 6749 section 4.1.1-4.1.2, approved at once (no login page).
        A bad client_id or redirect_uri gets an error page, never a redirect
        (section 4.1.2.1): the redirect target is not trusted yet."""
        st = self.state
        try:
            q = single_values(parse_qs(urlsplit(self.path).query, keep_blank_values=True))
        except OAuthError as e:
            self.send(400, e.description, "text/plain")
            self.log_line(400, error=e.error)
            return
        client_id, redirect_uri = q.get("client_id", ""), q.get("redirect_uri", "")
        with st.cond:
            known = client_id in st.clients
        if not known:
            self.send(400, "Error 401: invalid_client\nThe OAuth client was not found.\n", "text/plain")
            self.log_line(400, client_id, error="invalid_client")
            return
        if not is_loopback_redirect(redirect_uri):
            self.send(400, "Error 400: redirect_uri_mismatch\nOnly http://127.0.0.1:<port>/... is allowed.\n", "text/plain")
            self.log_line(400, client_id, error="redirect_uri_mismatch")
            return

        def back(params):
            if "state" in q:
                params["state"] = q["state"]
            sep = "&" if urlsplit(redirect_uri).query else "?"
            self.redirect(redirect_uri + sep + urlencode(params))
            self.log_line(302, client_id, error=params.get("error"))

        if q.get("response_type") != "code":
            return back({"error": "unsupported_response_type", "error_description": "response_type must be code"})
        if not q.get("scope"):
            return back({"error": "invalid_scope", "error_description": "Missing required parameter: scope"})
        # PKCE is required: a loopback redirect can be caught by any local
        # program (RFC 8252 section 8.1).
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return back({"error": "invalid_request", "error_description": "code_challenge with code_challenge_method=S256 is required"})
        user = (q.get("login_hint") or st.default_user).lower()
        with st.cond:
            settings = st.settings(client_id)
            if settings["authorize"] == "deny" or user not in st.users:
                # The person refused, or is no user of this mail service.
                return back({"error": "access_denied", "error_description": "The user denied access"})
            code = secrets.token_urlsafe(24)
            st.codes[code] = {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "challenge": q["code_challenge"],
                "scope": q["scope"],
                "user": user,
                "expires_at": time.time() + float(settings["code_lifetime"]),
                "used": False,
            }
        back({"code": code})

    def client_auth(self, form):
        """RFC 6749 section 2.3.1: HTTP Basic or client_secret in the body,
        or (a public client, RFC 8252 section 8.4) client_id alone."""
        st = self.state
        basic = self.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            if "client_secret" in form:
                raise OAuthError("invalid_request", "Use one client authentication method")
            try:
                raw = base64.b64decode(basic[6:].strip(), validate=True).decode()
                cid, _, secret = raw.partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "Malformed Basic credentials", 401)
            cid, secret = unquote_plus(cid), unquote_plus(secret)
            if form.get("client_id", cid) != cid:
                raise OAuthError("invalid_request", "client_id differs from the Basic credentials")
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret")
        with st.cond:
            client = st.clients.get(cid)
        if client is None:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        if secret is not None and not hmac.compare_digest(secret, client["secret"]):
            raise OAuthError("invalid_client", "Unauthorized", 401)
        return cid

    def token(self):
        st = self.state
        now = time.time()
        event = {"at": now, "grant_type": None, "client_id": None, "status": None, "error": None, "fault": None}
        cid = grant = None
        try:
            form = self.form()
            grant = form.get("grant_type")
            event["grant_type"] = grant
            cid = self.client_auth(form)
            event["client_id"] = cid
            with st.cond:
                st.events.append(event)
                fault = st.fault_for(cid, now)
            if fault is not None:
                event["fault"] = fault["mode"]
                if self.apply_fault(fault, event, cid, grant):
                    return
            with st.cond:
                if grant == "authorization_code":
                    answer, exp = self.authorization_code_grant(form, cid, now)
                elif grant == "refresh_token":
                    answer, exp = self.refresh_token_grant(form, cid, now)
                elif grant == DEVICE_GRANT:
                    answer, exp = self.device_code_grant(form, cid, now)
                else:
                    raise OAuthError("unsupported_grant_type", f"Unsupported grant_type {grant!r}")
                event["status"] = 200
                event["expires_at"] = exp
            self.send_json(200, answer)
            self.log_line(200, cid, grant)
        except OAuthError as e:
            with st.cond:
                if event not in st.events:
                    st.events.append(event)
                event["status"], event["error"] = e.status, e.error
            headers = [("WWW-Authenticate", 'Basic realm="token"')] if e.status == 401 else []
            self.send_json(e.status, {"error": e.error, "error_description": e.description}, headers)
            self.log_line(e.status, cid, grant, e.error)

    def apply_fault(self, fault, event, cid, grant):
        """Answers as a failing provider would; True when nothing more is to
        be done for this request. A hang holds the request until the fault is
        cleared or over, then serves it (a slow provider)."""
        st = self.state
        mode = fault["mode"]
        if mode == "hang":
            deadline = time.time() + HANG_MAX_SECONDS
            with st.cond:
                while not st.hang_released(fault) and time.time() < deadline:
                    left = deadline - time.time()
                    if fault["until"] is not None:
                        left = min(left, fault["until"] - time.time())
                    st.cond.wait(timeout=max(left, 0.001))
            return False
        if mode == "close":
            event["status"] = 0
            self.log_line(0, cid, grant, "connection dropped")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return True
        status = int(mode)
        event["status"] = status
        headers = []
        if fault.get("retry_after") is not None:
            headers.append(("Retry-After", str(fault["retry_after"])))
        # As a provider's front end answers: an HTML page, not OAuth JSON.
        page = f"<html><body><h1>{status} Server Error</h1></body></html>"
        self.send(status, page, "text/html; charset=UTF-8", headers)
        self.log_line(status, cid, grant, "fault")
        return True

    def authorization_code_grant(self, form, cid, now):
        st = self.state
        code = st.codes.get(form.get("code", ""))
        if code is None:
            raise OAuthError("invalid_grant", "Malformed auth code.")
        if code["used"]:
            # RFC 6749 section 4.1.2: a code used twice revokes what it gave.
            for rt in st.refresh_tokens.values():
                if rt["code"] is not None and rt["code"] == form.get("code"):
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
        return st.issue(cid, code["user"], code["scope"], now, code=form["code"])

    def refresh_token_grant(self, form, cid, now):
        st = self.state
        value = form.get("refresh_token", "")
        rt = st.refresh_tokens.get(value)
        if rt is None or rt["revoked"]:
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        if rt["client_id"] != cid:
            raise OAuthError("invalid_grant", "Token was issued to another client.")
        scope = form.get("scope") or rt["scope"]
        if not set(scope.split()) <= set(rt["scope"].split()):
            raise OAuthError("invalid_scope", "The requested scope exceeds the granted scope.")
        if st.settings(cid)["rotate_refresh_tokens"]:
            rt["revoked"] = True
            return st.issue(cid, rt["user"], scope, now, code=rt["code"])
        return st.issue(cid, rt["user"], scope, now, refresh_token=value)

    def device_code_grant(self, form, cid, now):
        """RFC 8628 section 3.4-3.5."""
        st = self.state
        dev = st.devices.get(form.get("device_code", ""))
        if dev is None or dev["client_id"] != cid or dev["status"] == "used":
            raise OAuthError("invalid_grant", "Bad device code.")
        last, dev["last_poll"] = dev["last_poll"], now
        if dev["status"] == "expired" or now >= dev["expires_at"]:
            dev["status"] = "expired"
            raise OAuthError("expired_token", "The device code has expired.")
        if dev["status"] == "denied":
            raise OAuthError("access_denied", "The user denied the request.")
        if last is not None and now - last < dev["interval"]:
            dev["interval"] += st.settings(cid)["slow_down_step"]
            raise OAuthError("slow_down", f"Polling too fast; wait {dev['interval']} s between requests.")
        if dev["status"] == "pending":
            raise OAuthError("authorization_pending", "The user has not yet approved the request.")
        dev["status"] = "used"
        return st.issue(cid, dev["user"], dev["scope"], now)

    def device(self):
        """RFC 8628 section 3.1-3.2: the device authorization request."""
        st = self.state
        cid = None
        try:
            form = self.form()
            cid = self.client_auth(form)
            if not form.get("scope"):
                raise OAuthError("invalid_scope", "Missing required parameter: scope")
            with st.cond:
                settings = st.settings(cid)
                device_code = secrets.token_urlsafe(32)
                user_code = "-".join(
                    "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(4)) for _ in range(2)
                )
                verification_uri = self.server.base_url + "/device/verify"
                st.devices[device_code] = {
                    "client_id": cid,
                    "user_code": user_code,
                    "scope": form["scope"],
                    "expires_at": time.time() + float(settings["device_expires_in"]),
                    "interval": int(settings["device_interval"]),
                    "status": "pending",
                    "user": None,
                    "last_poll": None,
                }
                answer = {
                    "device_code": device_code,
                    "user_code": user_code,
                    "verification_uri": verification_uri,
                    "verification_uri_complete": verification_uri + "?" + urlencode({"user_code": user_code}),
                    "expires_in": int(settings["device_expires_in"]),
                    "interval": int(settings["device_interval"]),
                }
            self.send_json(200, answer)
            self.log_line(200, cid)
        except OAuthError as e:
            self.send_json(e.status, {"error": e.error, "error_description": e.description})
            self.log_line(e.status, cid, error=e.error)

    def revoke(self):
        """RFC 7009: 200 whether or not the token was known."""
        st = self.state
        cid = None
        try:
            form = self.form()
            cid = self.client_auth(form)
            with st.cond:
                rt = st.refresh_tokens.get(form.get("token", ""))
                if rt is not None and rt["client_id"] == cid:
                    rt["revoked"] = True
            self.send(200, b"", "text/plain")
            self.log_line(200, cid)
        except OAuthError as e:
            self.send_json(e.status, {"error": e.error, "error_description": e.description})
            self.log_line(e.status, cid, error=e.error)

    # -- /admin: for tests only ------------------------------------------------

    def admin(self):
        path = urlsplit(self.path).path
        try:
            req = self.json_body() if self.command == "POST" else {}
            if self.command == "GET" and path == "/admin/stats":
                q = single_values(parse_qs(urlsplit(self.path).query))
                out = self.admin_stats(q.get("client_id"))
            elif self.command != "POST":
                raise ValueError(f"{self.command} {path}: unknown admin request")
            elif path == "/admin/clients":
                out = self.admin_new_client(req)
            elif path.startswith("/admin/clients/"):
                out = self.admin_set_client(path[len("/admin/clients/"):], req)
            elif path == "/admin/device":
                out = self.admin_device(req)
            elif path == "/admin/revoke":
                out = self.admin_revoke(req)
            elif path == "/admin/fault":
                out = self.admin_fault(req)
            elif path == "/admin/mint":
                out = self.admin_mint(req)
            else:
                raise ValueError(f"POST {path}: unknown admin request")
        except (ValueError, KeyError, TypeError) as e:
            self.send_json(400, {"error": str(e)})
            self.log_line(400, error="admin")
            return
        self.send_json(200, out)
        self.log_line(200)

    def admin_new_client(self, req):
        st = self.state
        client_id = "client-" + secrets.token_hex(6)
        secret = secrets.token_urlsafe(18)
        with st.cond:
            st.add_client(client_id, secret, req.get("settings", {}))
            return {"client_id": client_id, "client_secret": secret, "settings": st.settings(client_id)}

    def admin_set_client(self, client_id, req):
        st = self.state
        with st.cond:
            settings = st.settings(client_id)
            unknown = set(req) - set(DEFAULT_SETTINGS)
            if unknown:
                raise ValueError(f"unknown settings {sorted(unknown)}")
            settings.update(req)
            return {"client_id": client_id, "settings": settings}

    def admin_device(self, req):
        """Approve, deny or expire a device code, as the person at the
        verification page would (or the clock): by user_code, or the one
        pending code of client_id."""
        st = self.state
        action = req["action"]
        if action not in ("approve", "deny", "expire"):
            raise ValueError(f"action {action!r}: approve, deny or expire")
        with st.cond:
            if "user_code" in req:
                wanted = req["user_code"].upper().replace(" ", "")
                found = [d for d in st.devices.values() if d["user_code"] == wanted]
            else:
                found = [
                    d
                    for d in st.devices.values()
                    if d["client_id"] == req["client_id"] and d["status"] == "pending"
                ]
            if len(found) != 1:
                raise ValueError(f"{len(found)} device codes match {req}")
            dev = found[0]
            if dev["status"] != "pending":
                raise ValueError(f"device code {dev['user_code']} is {dev['status']}, not pending")
            user = (req.get("user") or st.default_user).lower()
            if user not in st.users:
                raise ValueError(f"{user} is no user of this stack")
            dev["status"] = {"approve": "approved", "deny": "denied", "expire": "expired"}[action]
            dev["user"] = user
            return {"user_code": dev["user_code"], "status": dev["status"]}

    def admin_revoke(self, req):
        """Revoke refresh tokens: one (refresh_token), or every one of a user
        and/or client (as when the owner removes the app's access)."""
        st = self.state
        with st.cond:
            if "refresh_token" in req:
                matches = [st.refresh_tokens[req["refresh_token"]]]
            else:
                if "user" not in req and "client_id" not in req:
                    raise ValueError("revoke needs refresh_token, user or client_id")
                matches = [
                    rt
                    for rt in st.refresh_tokens.values()
                    if rt["user"] == req.get("user", rt["user"]).lower()
                    and rt["client_id"] == req.get("client_id", rt["client_id"])
                ]
            n = sum(1 for rt in matches if not rt["revoked"])
            for rt in matches:
                rt["revoked"] = True
            return {"revoked": n}

    def admin_fault(self, req):
        """The token endpoint fails for client_id (or every client): mode
        "hang", "500", "503", "close" (connection dropped), or "none" to
        clear; for `count` requests and/or `seconds`, else until cleared."""
        st = self.state
        scope = req.get("client_id") or "*"
        mode = str(req["mode"])
        if mode not in ("hang", "500", "503", "close", "none"):
            raise ValueError(f"mode {mode!r}: hang, 500, 503, close or none")
        with st.cond:
            if scope != "*" and scope not in st.clients:
                raise ValueError(f"no client {scope}")
            old = [f for s, f in st.spent if s == scope] + [st.faults.pop(scope, None)]
            for fault in old:
                if fault is not None:
                    fault["cleared"] = True
            st.spent = [(s, f) for s, f in st.spent if s != scope]
            if mode != "none":
                seconds = req.get("seconds")
                st.faults[scope] = {
                    "mode": mode,
                    "remaining": req.get("count"),
                    "until": time.time() + float(seconds) if seconds is not None else None,
                    "retry_after": req.get("retry_after"),
                    "cleared": False,
                }
            # Hung requests re-check whether their fault still holds.
            st.cond.notify_all()
        return {"client_id": scope, "mode": mode}

    def admin_mint(self, req):
        """A token as the server would issue it, changed as asked, to test
        what Dovecot refuses: `lifetime` (negative: expired), `key` ("wrong":
        a key that is not the stack's), `alg`, `typ`, `kid`, and `claims`
        (set; null removes)."""
        st = self.state
        now = int(time.time())
        lifetime = int(req.get("lifetime", 3600))
        claims = {
            "iss": st.issuer,
            "sub": req.get("sub", st.default_user),
            "aud": req.get("client_id", "minted"),
            "iat": now if lifetime > 0 else now + lifetime - 60,
            "exp": now + lifetime,
            "scope": req.get("scope", "mail"),
            "jti": secrets.token_hex(8),
        }
        for name, value in req.get("claims", {}).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = st.key if req.get("key", "stack") == "stack" else secrets.token_bytes(32)
        token = jwt(claims, key, req.get("alg", "HS256"), req.get("typ", "JWT"), req.get("kid"))
        return {"access_token": token, "claims": claims}

    def admin_stats(self, client_id):
        """Every token request (of client_id, or all): arrival time (Unix
        seconds), grant, status, error, fault; and counts per grant."""
        st = self.state
        with st.cond:
            events = [dict(e) for e in st.events if client_id is None or e["client_id"] == client_id]
        counts = {}
        for e in events:
            counts[e["grant_type"]] = counts.get(e["grant_type"], 0) + 1
        return {"token_requests": events, "counts": counts}


def single_values(parsed):
    out = {}
    for name, values in parsed.items():
        if len(values) != 1:
            raise OAuthError("invalid_request", f"Parameter {name} given more than once")
        out[name] = values[0]
    return out


class Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung request must not hold up the exit
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--issuer", required=True)
    p.add_argument("--key-file", required=True, help="base64 of the raw HMAC key (Dovecot's copy)")
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--users", required=True, help="comma-separated mail users who may sign in")
    p.add_argument("--default-user", required=True, help="who signs in when there is no login_hint")
    p.add_argument("--log", required=True)
    p.add_argument("--pid-file", required=True)
    p.add_argument("--foreground", action="store_true")
    args = p.parse_args()

    with open(args.key_file) as f:
        key = base64.b64decode(f.read().strip())
    Handler.state = State(args, key)
    # Bound and listening before the fork: once the parent exits, clients
    # connect.
    server = Server(("127.0.0.1", args.port), Handler)
    server.base_url = f"http://127.0.0.1:{args.port}"
    server.log_path = args.log
    if not args.foreground:
        pid = os.fork()
        if pid:
            with open(args.pid_file + ".tmp", "w") as f:
                f.write(f"{pid}\n")
            os.replace(args.pid_file + ".tmp", args.pid_file)
            os._exit(0)
        # Its own session, as Dovecot's and Postfix's masters: `mailstack
        # stop` ends the session.
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        errors = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(errors, 2)  # tracebacks land in the log
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
