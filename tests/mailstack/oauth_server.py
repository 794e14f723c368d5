#!/usr/bin/env python3
"""A test OAuth 2.0 authorization server for one mailstack instance.

It plays the provider (Google, Microsoft) that a mail client signs in with:
the authorization code grant with PKCE and a loopback redirect (RFC 6749
section 4.1, RFC 7636, RFC 8252), the refresh token grant (RFC 6749 section
6), the device authorization grant (RFC 8628), token revocation (RFC 7009)
and a discovery document. Access tokens are JWTs signed (HS256) with the
stack's key, which Dovecot validates locally (oauth2.conf.ext.in): the
server is never asked whether a token is good, as with a real provider
whose JWTs a mail server checks offline.

What a real provider does by a person at a browser, this one does at once or
through /admin (tests only, oauth_admin.py): /authorize approves without a
page; a device code waits until a test approves, denies or expires it.
/admin also sets a client's token lifetime and refresh-token rotation,
revokes refresh tokens, makes /token fail for a while (hang, 500, 503, a
dropped connection), mints tokens that must be refused (expired, wrong key,
wrong issuer), and returns the record of every token request (grant,
client, time, outcome), so a test can check when a client refreshed and
that it did not retry in a storm.

This file is the HTTP side: routes, parsing, client authentication, faults,
the log. The rules are in oauth_provider.py. Every request is logged to
--log as one line: method, path, client, grant, status, error; never a
token, code, verifier, secret or query string.

Started by `mailstack start-oauth DIR`: it binds its port, then forks; the
parent returns once the child is serving, so the script needs no wait loop.
"""

import argparse
import base64
import json
import os
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit

# Beside this file (Python puts a script's directory first on sys.path).
import oauth_admin
from oauth_provider import GRANTS, OAuthError, Provider, is_loopback_redirect


def single_values(parsed):
    """RFC 6749 section 3.1: no parameter more than once."""
    out = {}
    for name, values in parsed.items():
        if len(values) != 1:
            raise OAuthError("invalid_request", f"Parameter {name} given more than once")
        out[name] = values[0]
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mailstack-oauth/1"
    provider: Provider  # set on the class before serving

    # -- plumbing ----------------------------------------------------------

    def log_message(self, fmt, *args):  # the access log is ours (log_line)
        pass

    def log_line(self, status, client_id=None, grant=None, error=None):
        # Called before the answer is sent: a client that has its answer
        # finds the line in the log (the time is that of the handling).
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

    def send(self, status, body, ctype, headers=()):
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
        self.wfile.write(data)

    def send_json(self, status, obj, headers=()):
        self.send(status, json.dumps(obj), "application/json;charset=UTF-8", headers)

    def send_error_json(self, e, client_id=None, grant=None):
        headers = [("WWW-Authenticate", 'Basic realm="oauth"')] if e.status == 401 else []
        self.log_line(e.status, client_id, grant, e.error)
        self.send_json(e.status, {"error": e.error, "error_description": e.description}, headers)

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def form(self):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        raw = self.body().decode("utf-8", "replace")
        if ctype != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
        return single_values(parse_qs(raw, keep_blank_values=True))

    def query(self):
        return single_values(parse_qs(urlsplit(self.path).query, keep_blank_values=True))

    def client_auth(self, form):
        """RFC 6749 section 2.3.1: HTTP Basic or client_secret in the body,
        or client_id alone (a public client)."""
        basic = self.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            if "client_secret" in form:
                raise OAuthError("invalid_request", "Use one client authentication method")
            try:
                raw = base64.b64decode(basic[6:].strip(), validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "Malformed Basic credentials", 401)
            cid, _, secret = raw.partition(":")
            # Section 2.3.1: both are form-encoded before Basic encoding.
            cid, secret = unquote_plus(cid), unquote_plus(secret)
            if form.get("client_id", cid) != cid:
                raise OAuthError("invalid_request", "client_id differs from the Basic credentials")
        else:
            cid, secret = form.get("client_id", ""), form.get("client_secret")
        self.provider.authenticate_client(cid, secret)
        return cid

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
            ("GET", "/device/verify"): self.device_verify,
            ("POST", "/revoke"): self.revoke,
            ("GET", "/.well-known/openid-configuration"): self.discovery,
            ("GET", "/.well-known/oauth-authorization-server"): self.discovery,
        }
        handler = routes.get((self.command, path))
        if handler is None and path.startswith("/admin/"):
            handler = self.admin
        try:
            if handler is None:
                self.log_line(404)
                self.send_json(404, {"error": "not_found"})
            else:
                handler()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. on a hang)

    # -- the provider's endpoints ------------------------------------------

    def discovery(self):
        """RFC 8414 (and OpenID Connect Discovery's subset of it)."""
        base = self.server.base_url
        self.log_line(200)
        self.send_json(
            200,
            {
                "issuer": self.provider.issuer,
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

    def authorize(self):
        """RFC 6749 sections 4.1.1-4.1.2, answered at once (no login page).
        A bad client_id or redirect_uri gets an error page, never a redirect
        (section 4.1.2.1): the redirect target is not trusted yet."""
        try:
            q = self.query()
        except OAuthError as e:
            self.log_line(400, error=e.error)
            self.send(400, e.description, "text/plain")
            return
        client_id, redirect_uri = q.get("client_id", ""), q.get("redirect_uri", "")
        if client_id not in self.provider.clients:
            self.log_line(400, client_id, error="invalid_client")
            self.send(400, "Error 401: invalid_client\nThe OAuth client was not found.\n", "text/plain")
            return
        if not is_loopback_redirect(redirect_uri):
            self.log_line(400, client_id, error="redirect_uri_mismatch")
            self.send(400, "Error 400: redirect_uri_mismatch\nOnly http://127.0.0.1:<port>/... is allowed.\n", "text/plain")
            return
        try:
            if q.get("response_type") != "code":
                raise OAuthError("unsupported_response_type", "response_type must be code")
            if not q.get("scope"):
                raise OAuthError("invalid_scope", "Missing required parameter: scope")
            # PKCE is required: a loopback redirect can be caught by any
            # local program (RFC 8252 section 8.1).
            if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                raise OAuthError("invalid_request", "code_challenge with code_challenge_method=S256 is required")
            code = self.provider.approve(client_id, redirect_uri, q["code_challenge"], q["scope"], q.get("login_hint"))
            params, error = {"code": code}, None
        except OAuthError as e:
            params, error = {"error": e.error, "error_description": e.description}, e.error
        if "state" in q:
            params["state"] = q["state"]
        sep = "&" if urlsplit(redirect_uri).query else "?"
        self.log_line(302, client_id, error=error)
        self.send(302, b"", "text/plain", [("Location", redirect_uri + sep + urlencode(params))])

    def token(self):
        """RFC 6749 section 3.2; every request goes into the record at
        arrival, its outcome filled in when known."""
        event = {"at": time.time(), "grant_type": None, "client_id": None, "status": None, "error": None, "fault": None}
        cid = grant = None
        try:
            form = self.form()
            grant = event["grant_type"] = form.get("grant_type")
            cid = event["client_id"] = self.client_auth(form)
            self.provider.record(event)
            fault = self.provider.fault_for(cid, event["at"])
            if fault is not None:
                event["fault"] = fault["mode"]
                if self.apply_fault(fault, event, cid, grant):
                    return
            answer, exp = self.provider.grant(form, cid, time.time())
            event["status"], event["expires_at"] = 200, exp
            self.log_line(200, cid, grant)
            self.send_json(200, answer)
        except OAuthError as e:
            if event["client_id"] is None:
                self.provider.record(event)
            event["status"], event["error"] = e.status, e.error
            self.send_error_json(e, cid, grant)

    def apply_fault(self, fault, event, cid, grant):
        """Answers as a failing provider would; True when that was the whole
        answer. A hang holds the request until the fault is cleared or over,
        then lets it be served (a slow provider)."""
        mode = fault["mode"]
        if mode == "hang":
            self.provider.hang(fault)
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
        self.log_line(status, cid, grant, "fault")
        self.send(status, page, "text/html; charset=UTF-8", headers)
        return True

    def device(self):
        """RFC 8628 sections 3.1-3.2: the device authorization request."""
        cid = None
        try:
            form = self.form()
            cid = self.client_auth(form)
            answer = self.provider.device_authorization(cid, form.get("scope"), self.server.base_url + "/device/verify")
            self.log_line(200, cid)
            self.send_json(200, answer)
        except OAuthError as e:
            self.send_error_json(e, cid)

    def device_verify(self):
        """The verification page (RFC 8628 section 3.3) a person would visit;
        here it only shows a code's state: tests approve through
        POST /admin/device."""
        code = parse_qs(urlsplit(self.path).query).get("user_code", [""])[0]
        status = self.provider.device_status(code)
        if status is None:
            page = "<html><body>Enter the code shown on your device.</body></html>"
        else:
            page = f"<html><body>Code {code.upper()}: {status}.</body></html>"
        self.log_line(200)
        self.send(200, page, "text/html; charset=UTF-8")

    def revoke(self):
        """RFC 7009: 200 whether or not the token was known."""
        cid = None
        try:
            form = self.form()
            cid = self.client_auth(form)
            self.provider.revoke(cid, form.get("token", ""))
            self.log_line(200, cid)
            self.send(200, b"", "text/plain")
        except OAuthError as e:
            self.send_error_json(e, cid)

    def admin(self):
        try:
            raw = self.body() if self.command == "POST" else b""
            req = json.loads(raw) if raw.strip() else {}
            out = oauth_admin.handle(self.provider, self.command, urlsplit(self.path).path, self.query(), req)
        except (ValueError, KeyError, TypeError, OAuthError) as e:
            self.log_line(400, error="admin")
            self.send_json(400, {"error": f"{type(e).__name__}: {e}"})
            return
        self.log_line(200)
        self.send_json(200, out)


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
    p.add_argument("--foreground", action="store_true", help="no fork, no pid file")
    args = p.parse_args()

    with open(args.key_file) as f:
        key = base64.b64decode(f.read().strip())
    Handler.provider = Provider(
        args.issuer, key, [u for u in args.users.split(",") if u], args.default_user, args.client_id, args.client_secret
    )
    # Bound and listening before the fork: once the parent exits, clients
    # connect.
    server = Server(("127.0.0.1", args.port), Handler)
    server.base_url = f"http://127.0.0.1:{args.port}"
    server.log_path = args.log
    if not args.foreground:
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid:
            # Returns once the child leads its own session: `mailstack stop`
            # ends that session, so it must exist before the pid is known.
            os.close(ready_w)
            os.read(ready_r, 1)
            with open(args.pid_file + ".tmp", "w") as f:
                f.write(f"{pid}\n")
            os.replace(args.pid_file + ".tmp", args.pid_file)
            os._exit(0)
        # Its own session, as Dovecot's and Postfix's masters.
        os.setsid()
        os.close(ready_r)
        os.write(ready_w, b"+")
        os.close(ready_w)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        errors = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(errors, 2)  # tracebacks land in the log
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
