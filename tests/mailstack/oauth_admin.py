"""/admin of the test authorization server: what a test does to the
provider that a person, the clock or an outage would do to a real one.
JSON in, JSON out; a bad request raises ValueError (or KeyError/TypeError
for a missing or mistyped field), answered 400 by oauth_server.py.

  POST /admin/clients          {"settings": {...}} -> a new client
                               {client_id, client_secret, settings}
  POST /admin/clients/<id>     {setting: value, ...}: from the next request on
  POST /admin/device           {"user_code" | "client_id", "action":
                               "approve" | "deny" | "expire", "user"}
  POST /admin/revoke           {"refresh_token"} or {"user", "client_id"}
                               -> {revoked: how many were live}
  POST /admin/fault            {"client_id"?, "mode": "hang" | "500" | "503" |
                               "close" | "none", "count"?, "seconds"?,
                               "retry_after"?}
  POST /admin/mint             {"sub", "lifetime", "key": "wrong", "alg",
                               "typ", "kid", "claims": {name: value|null}}
                               -> {access_token, claims}
  GET  /admin/stats[?client_id=] -> {token_requests: [...], counts: {...}}

Settings: see DEFAULT_SETTINGS in oauth_provider.py.
"""

import secrets
import time

from oauth_provider import DEFAULT_SETTINGS, jwt


def handle(provider, method, path, query, req):
    """The answer to one admin request."""
    if method == "GET" and path == "/admin/stats":
        return stats(provider, query.get("client_id"))
    if method != "POST":
        raise ValueError(f"{method} {path}: unknown admin request")
    if path == "/admin/clients":
        return new_client(provider, req)
    if path.startswith("/admin/clients/"):
        return set_client(provider, path[len("/admin/clients/"):], req)
    actions = {
        "/admin/device": device,
        "/admin/revoke": revoke,
        "/admin/fault": fault,
        "/admin/mint": mint,
    }
    if path not in actions:
        raise ValueError(f"POST {path}: unknown admin request")
    return actions[path](provider, req)


def new_client(provider, req):
    client_id = "client-" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(18)
    provider.add_client(client_id, secret, req.get("settings", {}))
    return {"client_id": client_id, "client_secret": secret, "settings": provider.settings(client_id)}


def set_client(provider, client_id, req):
    unknown = set(req) - set(DEFAULT_SETTINGS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}")
    with provider.lock:
        settings = provider.settings(client_id)
        settings.update(req)
        return {"client_id": client_id, "settings": dict(settings)}


def device(provider, req):
    """Approve, deny or expire a device code, as the person at the
    verification page would (or the clock): by user_code, or the one
    pending code of client_id. Approval signs in as `user` (the owner if
    absent)."""
    action = req["action"]
    if action not in ("approve", "deny", "expire"):
        raise ValueError(f"action {action!r}: approve, deny or expire")
    with provider.lock:
        if "user_code" in req:
            wanted = req["user_code"].upper().replace(" ", "")
            found = [d for d in provider.devices.values() if d["user_code"] == wanted]
        else:
            found = [
                d
                for d in provider.devices.values()
                if d["client_id"] == req["client_id"] and d["status"] == "pending"
            ]
        if len(found) != 1:
            raise ValueError(f"{len(found)} device codes match {req}")
        dev = found[0]
        if dev["status"] != "pending":
            raise ValueError(f"device code {dev['user_code']} is {dev['status']}, not pending")
        user = (req.get("user") or provider.default_user).lower()
        if user not in provider.users:
            raise ValueError(f"{user} is no user of this stack")
        dev["status"] = {"approve": "approved", "deny": "denied", "expire": "expired"}[action]
        dev["user"] = user
        return {"user_code": dev["user_code"], "status": dev["status"]}


def revoke(provider, req):
    """Revoke refresh tokens: one (refresh_token), or every one of a user
    and/or a client (as when the owner removes the app's access)."""
    with provider.lock:
        if "refresh_token" in req:
            matches = [provider.refresh_tokens[req["refresh_token"]]]
        else:
            if "user" not in req and "client_id" not in req:
                raise ValueError("revoke needs refresh_token, user or client_id")
            matches = [
                rt
                for rt in provider.refresh_tokens.values()
                if rt["user"] == req.get("user", rt["user"]).lower()
                and rt["client_id"] == req.get("client_id", rt["client_id"])
            ]
        live = sum(1 for rt in matches if not rt["revoked"])
        for rt in matches:
            rt["revoked"] = True
        return {"revoked": live}


def fault(provider, req):
    """The token endpoint fails for client_id (or every client): "hang"
    (held unanswered until cleared or over, then served), "500"/"503" (an
    HTML page, with Retry-After if asked), "close" (connection dropped), or
    "none" to clear; for `count` requests and/or `seconds`, else until
    cleared. Replaces the scope's earlier fault and releases its hung
    requests."""
    scope = req.get("client_id") or "*"
    mode = str(req["mode"])
    if mode not in ("hang", "500", "503", "close", "none"):
        raise ValueError(f"mode {mode!r}: hang, 500, 503, close or none")
    with provider.lock:
        if scope != "*" and scope not in provider.clients:
            raise ValueError(f"no client {scope}")
        old = [f for s, f in provider.spent if s == scope] + [provider.faults.pop(scope, None)]
        for f in old:
            if f is not None:
                f["cleared"] = True
        provider.spent = [(s, f) for s, f in provider.spent if s != scope]
        if mode != "none":
            seconds = req.get("seconds")
            provider.faults[scope] = {
                "mode": mode,
                "remaining": req.get("count"),
                "until": time.time() + float(seconds) if seconds is not None else None,
                "retry_after": req.get("retry_after"),
                "cleared": False,
            }
        # Hung requests re-check whether their fault still holds.
        provider.lock.notify_all()
    return {"client_id": scope, "mode": mode}


def mint(provider, req):
    """A token as the server issues them (the owner's, an hour, the stack's
    key), changed as asked, to test what Dovecot refuses: `lifetime`
    (negative: expired), `key` ("wrong": a key that is not the stack's),
    `sub`, `alg`, `typ`, `kid`, and `claims` (set; null removes)."""
    now = int(time.time())
    lifetime = int(req.get("lifetime", 3600))
    claims = {
        "iss": provider.issuer,
        "sub": req.get("sub", provider.default_user),
        "aud": req.get("client_id", "minted"),
        # An expired token was issued before it expired.
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
    key = provider.key if req.get("key", "stack") == "stack" else secrets.token_bytes(32)
    token = jwt(claims, key, req.get("alg", "HS256"), req.get("typ", "JWT"), req.get("kid"))
    return {"access_token": token, "claims": claims}


def stats(provider, client_id):
    """Every token request (of client_id, or all) in arrival order: `at`
    (Unix seconds), grant_type, client_id, status (None while held by a
    hang), error, fault, and expires_at of the access token it got; and
    counts per grant."""
    with provider.lock:
        events = [dict(e) for e in provider.events if client_id is None or e["client_id"] == client_id]
    counts = {}
    for e in events:
        counts[e["grant_type"]] = counts.get(e["grant_type"], 0) + 1
    return {"token_requests": events, "counts": counts}
