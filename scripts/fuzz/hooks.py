"""Schemathesis hooks for `make fuzz` (scripts/fuzz.sh); loaded through SCHEMATHESIS_HOOKS.

Everything comes from the environment fuzz.sh sets:

  FUZZ_AUTH_URL        base URL of the auth service (where to log in again)
  FUZZ_ADMIN_EMAIL     the admin the fuzzer acts as
  FUZZ_ADMIN_PASSWORD
  FUZZ_ADMIN_ID        that admin's user id
  FUZZ_DECOY_ID        a second admin of the same company, which may be changed at will
  FUZZ_ACCESS_TOKEN    the access token fuzz.sh got when it logged in (used first)
  FUZZ_SERVICE         which service this run fuzzes (only for the records below)
  FUZZ_RECORDS         JSON-lines file the records below are appended to

Keeping the fuzzer from sabotaging its own authentication (a fuzzer that once PATCHed the
admin's password got nothing but 401s for the rest of the run). Three layers:

1. fuzz.sh excludes `POST /api/v1/auth/logout`: it revokes the very session the fuzzer
   uses, and has nothing to fuzz but the Authorization header anyway.
2. `before_call` below: every request that would *change* the fuzzer's own account (any
   non-GET method on `/api/v1/users/{id}` or `/api/v1/users/{id}/...` whose id is the
   admin's, in any spelling the server's UUID parser accepts) goes to the decoy admin
   instead (FUZZ_DECOY_ID), which the fuzzer may demote, deactivate or re-password at will,
   so the request still runs the whole handler with a real user. Generated ids never hit
   a random UUID by chance, but the stateful phase feeds ids taken from responses
   (`GET /api/v1/users/me`, the user list) into later calls, and does so hundreds of
   times a run; this makes sure, whatever the generator does, that the admin is never
   demoted, deactivated, renamed, re-passworded or stripped of user_management. Reads of
   the admin stay fuzzed as they are. `DELETE /api/v1/users/me/sessions/{id}` always gets
   a random id, so it cannot end the fuzzer's own session. Two more would leave the admin
   unable to sign in with a password alone: a 6-digit `code` confirming a TOTP enrolment
   (one in a million is right, and a run posts thousands) gets a letter in front, and
   `PUT /api/v1/company/security` never lists `admin` in `mfa_required_roles`.
3. `TokenAuth`: the token is set on every case by this provider rather than a fixed
   `-H Authorization` header, so that if a 401 shows up anyway (a revocation path nobody
   thought of), schemathesis invalidates the token, this provider logs in again and the
   request is replayed (`retry_on=[401]`). It logs in again only when the token really is
   dead (most 401s are about the request: a wrong password posted to /auth/login); each
   re-login is recorded and fuzz.sh warns about it: it means a new way for requests to
   revoke the session has appeared, to be guarded here. Cases that deliberately drop or
   mangle the token (schemathesis's negative security tests) are not re-authenticated.

The other hooks only record, for fuzz.sh's summary, each 5xx response and each request
that ended without a response (connection dropped, reset or timed out): exactly what was
sent and what came back. The one custom check, `valid_json_not_malformed`, fails a 400
"Malformed JSON" answer to a body that is well-formed JSON (a wrong JSON type misreported);
fuzz.sh enables it next to `not_a_server_error`.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import threading
import time
import uuid

import requests
import schemathesis

AUTH_URL = os.environ.get("FUZZ_AUTH_URL", "").rstrip("/")
ADMIN_EMAIL = os.environ.get("FUZZ_ADMIN_EMAIL", "")
ADMIN_PASSWORD = os.environ.get("FUZZ_ADMIN_PASSWORD", "")
SERVICE = os.environ.get("FUZZ_SERVICE", "")
RECORDS = os.environ.get("FUZZ_RECORDS", "")

_lock = threading.Lock()

# CPython 3.11's `ast` keeps its recursion-depth check in per-interpreter state, so two
# threads parsing at once can fail with "SystemError: AST constructor recursion depth
# mismatch" (CPython gh-106905). Hypothesis parses lambdas' source while it generates, from
# every schemathesis worker thread; with FUZZ_WORKERS > 1 that failed whole operations.
# One parse at a time.
_ast_lock = threading.RLock()
_ast_parse = ast.parse


def _serialized_ast_parse(*args, **kwargs):
    with _ast_lock:
        return _ast_parse(*args, **kwargs)


ast.parse = _serialized_ast_parse


def _uuid_hex(value: object) -> str:
    """The 32 hex digits of a UUID in any form the server's parser accepts
    (hyphenated, simple, braced, `urn:uuid:`, any case); '' when it is none."""
    text = str(value).strip().lower()
    if text.startswith("urn:uuid:"):
        text = text[len("urn:uuid:") :]
    text = text.strip("{}").replace("-", "")
    return text if re.fullmatch(r"[0-9a-f]{32}", text) else ""


ADMIN_ID_HEX = _uuid_hex(os.environ.get("FUZZ_ADMIN_ID", ""))
DECOY_ID = os.environ.get("FUZZ_DECOY_ID", "")


def record(kind: str, **fields: object) -> None:
    if not RECORDS:
        return
    line = json.dumps({"service": SERVICE, "kind": kind, "time": time.time(), **fields}, default=str)
    with _lock, open(RECORDS, "a", encoding="utf-8") as out:
        out.write(line + "\n")


def login() -> str:
    response = requests.post(
        f"{AUTH_URL}/api/v1/auth/login",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        timeout=30,
    )
    if response.status_code != 200:
        raise RuntimeError(f"re-login failed: HTTP {response.status_code}: {response.text[:300]}")
    return response.json()["access_token"]


def token_works(token: str) -> bool:
    try:
        response = requests.get(
            f"{AUTH_URL}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
    except requests.RequestException:
        return False
    return response.status_code == 200


@schemathesis.auth(refresh_interval=24 * 3600, retry_on=[401])
class TokenAuth:
    """The fuzz.sh token first; a fresh login only once that token is really dead."""

    def __init__(self) -> None:
        self.token = os.environ.get("FUZZ_ACCESS_TOKEN") or None
        self.handed_out = False

    def get(self, case, context):
        # Called once at the start, then again after each 401 to a case carrying the token.
        # Most of those 401s are about the request, not the token (a wrong password posted
        # to /auth/login, a made-up refresh token): keep a token that still works, so that
        # schemathesis replays once, sees the 401 again and stops retrying that operation.
        if self.token is not None and (not self.handed_out or token_works(self.token)):
            self.handed_out = True
            return self.token
        if self.handed_out:
            record("relogin", operation=context.operation.label)
        self.token = login()
        self.handed_out = True
        return self.token

    def set(self, case, data, context):
        if case.headers is None:
            case.headers = {}
        case.headers["Authorization"] = f"Bearer {data}"


def _ends_a_session_of_its_own(operation) -> bool:
    """`DELETE /api/v1/users/me/sessions/{id}` with an id taken from the session list
    could end the very session the fuzzer uses; such cases get a random id (404)."""
    return (
        operation is not None
        and operation.method.upper() == "DELETE"
        and operation.path == "/api/v1/users/me/sessions/{id}"
    )


def _is_own_account_change(operation, case) -> bool:
    if not ADMIN_ID_HEX or operation is None:
        return False
    path = operation.path
    if not (path == "/api/v1/users/{id}" or path.startswith("/api/v1/users/{id}/")):
        return False
    if operation.method.upper() in ("GET", "HEAD", "OPTIONS"):
        return False
    params = case.path_parameters or {}
    return "id" in params and _uuid_hex(params["id"]) == ADMIN_ID_HEX


def _turns_on_mfa_for_itself(operation, case) -> bool:
    """A TOTP confirmation with a 6-digit code: by chance the right one, MFA would be on
    for the fuzzer's admin and its password alone would sign in no more."""
    return (
        operation is not None
        and operation.method.upper() == "POST"
        and operation.path == "/api/v1/users/me/mfa/totp/confirm"
        and isinstance(case.body, dict)
        and isinstance(case.body.get("code"), str)
        and re.fullmatch(r"\s*\d{3}\s?\d{3}\s*", case.body["code"]) is not None
    )


def _requires_mfa_of_admins(operation, case) -> bool:
    return (
        operation is not None
        and operation.method.upper() == "PUT"
        and operation.path == "/api/v1/company/security"
        and isinstance(case.body, dict)
        and isinstance(case.body.get("mfa_required_roles"), list)
        and "admin" in case.body["mfa_required_roles"]
    )


@schemathesis.hook
def before_call(context, case, kwargs):
    if _turns_on_mfa_for_itself(context.operation, case):
        case.body["code"] = "x" + case.body["code"]
        record("guarded", operation=context.operation.label)
    elif _requires_mfa_of_admins(context.operation, case):
        case.body["mfa_required_roles"] = [r for r in case.body["mfa_required_roles"] if r != "admin"]
        record("guarded", operation=context.operation.label)
    elif _ends_a_session_of_its_own(context.operation):
        case.path_parameters["id"] = str(uuid.uuid4())
        record("guarded", operation=context.operation.label)
    elif _is_own_account_change(context.operation, case):
        # The decoy admin fuzz.sh created, so the request still goes all the way through
        # the handler with a real user; a user that does not exist (404) without one.
        case.path_parameters["id"] = DECOY_ID or str(uuid.uuid4())
        record("guarded", operation=context.operation.label)


def _request_fields(request) -> dict:
    body = getattr(request, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="backslashreplace")
    if isinstance(body, str) and len(body) > 2000:
        body = body[:2000] + "...(truncated)"
    return {"method": getattr(request, "method", None), "url": getattr(request, "url", None), "body": body}


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code < 500:
        return
    try:
        text = response.content.decode("utf-8", errors="backslashreplace")
    except Exception:  # noqa: BLE001 - a record is best effort
        text = ""
    record(
        "server_error",
        operation=context.operation.label if context.operation else None,
        status=response.status_code,
        response=text[:1000],
        **_request_fields(response.request),
    )


@schemathesis.hook
def after_network_error(context, case, request):
    record(
        "network_error",
        operation=context.operation.label if context.operation else None,
        **_request_fields(request),
    )


def _serde_would_parse(value, depth=0) -> bool:
    """Whether serde_json reads this (already RFC 8259-valid) document without hitting one of
    its limits: 128 levels of nesting, numbers that overflow a double."""
    if depth > 100:
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_serde_would_parse(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(_serde_would_parse(item, depth + 1) for item in value.values())
    return True


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


@schemathesis.check
def valid_json_not_malformed(ctx, response, case):
    """A well-formed JSON body must not be answered 400 "Malformed JSON".

    The services answer 400 "Malformed JSON: ..." for a body that is not JSON, and 400
    "Invalid request: missing field" or 422 for JSON of the wrong shape. A syntactically valid
    body called malformed is a real bug: a wrong JSON type misreported (e.g. a number where a
    PATCH expects a string or an enum), which clients cannot tell from a broken body.
    """
    if response.status_code != 400:
        return None
    body = getattr(response.request, "body", None)
    if body is None:
        return None
    if isinstance(body, str):
        body = body.encode("utf-8", errors="surrogatepass")
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except ValueError:
        return None  # not JSON (or not UTF-8): "malformed" is right
    if not _serde_would_parse(document):
        return None
    try:
        detail = json.loads(response.content).get("detail", "")
    except (ValueError, AttributeError):
        return None
    if isinstance(detail, str) and detail.startswith("Malformed JSON"):
        record(
            "malformed_json",
            operation=case.operation.label,
            status=response.status_code,
            response=detail[:300],
            **_request_fields(response.request),
        )
        raise AssertionError(f"A well-formed JSON body was answered 400 {detail!r}; a body of the wrong shape is a 422")
    return None
