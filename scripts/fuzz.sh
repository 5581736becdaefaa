#!/usr/bin/env bash
# API fuzzing (`make fuzz`): start the four standalone services against a fresh PostgreSQL
# database, Redis and RabbitMQ, sign in as an admin, and run schemathesis against each
# service's OpenAPI document (/openapi.json; Swagger UI is at /docs/). Fails when any
# request got a 5xx, a dropped connection (reset, closed without a response, timed out), a
# 400 "Malformed JSON" for well-formed JSON, or when a service logged a panic; mere
# schema-conformance findings (undocumented status codes and the like) do not fail it.
#
#   scripts/fuzz.sh
#
# Needs PostgreSQL (trust auth for user postgres), Redis and RabbitMQ on 127.0.0.1, as for
# `make test`, and python3 (3.11) with venv and pip. Environment (all optional):
#
#   FUZZ_SECONDS   time budget of schemathesis for each service (default 60)
#   FUZZ_SEED      schemathesis seed (default 20240601), for reproducible runs
#   FUZZ_WORKERS   concurrent schemathesis workers per service (default 1: on 2 cores one
#                  worker generated more cases than two, and keeps a seeded run closer to
#                  reproducible)
#   FUZZ_SERVICES  which services, in order (default "auth interview scoring audit")
#   FUZZ_CHECKS    schemathesis checks that fail the run (default not_a_server_error, any
#                  5xx, and valid_json_not_malformed from hooks.py, a 400 "Malformed JSON"
#                  for a well-formed JSON body; "all" adds the schema-conformance checks)
#   FUZZ_BIN_DIR   where auth-service, interview-service, scoring-service and audit-writer
#                  are (default target/debug, or $CARGO_TARGET_DIR/debug, where
#                  `cargo build --workspace --bins` builds them when one is missing;
#                  FUZZ_BUILD=1 builds always)
#   FUZZ_PG_URL    PostgreSQL server (default $TEST_PG_URL or postgres://postgres@127.0.0.1:5432)
#   FUZZ_REDIS_URL Redis (default $TEST_REDIS_URL or redis://127.0.0.1:6379)
#   FUZZ_AMQP_URL  RabbitMQ (default $TEST_AMQP_URL or amqp://guest:guest@127.0.0.1:5672/%2f)
#
# Everything is per run and removed at exit: the database fuzz_<random>, the Redis key
# prefix fuzz:<random>:, the RabbitMQ prefix fuzz.<random>. (its queues expire once
# unused), the services, which listen on free ports on 127.0.0.1, not the default ones.
# Kept in target/fuzz-logs/ (replaced by the next run): each service's log
# (<service>.log), and per fuzzed service schemathesis's output (<service>/output.log),
# its reports (report.json, junit.xml), and records.jsonl: every 5xx response, every
# request that got no response and every "Malformed JSON" for valid JSON, as sent.
# The summary at the end lists, per service, each distinct failure with one request that
# shows it, panics by location, and the operations schemathesis could hardly generate
# accepted data for (only 4xx/404s: their OpenAPI schemas say less than the handlers check).
#
# schemathesis and its dependencies are pinned in scripts/fuzz/requirements.txt and
# installed once into target/fuzz-venv (rebuilt when that file changes). How the fuzzer
# is kept from revoking or disabling its own admin account: scripts/fuzz/hooks.py.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FUZZ_DIR="$ROOT/scripts/fuzz"
REQUIREMENTS="$FUZZ_DIR/requirements.txt"
HOOKS="$FUZZ_DIR/hooks.py"
VENV="$ROOT/target/fuzz-venv"
LOG_DIR="$ROOT/target/fuzz-logs"

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_SEED=${FUZZ_SEED:-20240601}
FUZZ_WORKERS=${FUZZ_WORKERS:-1}
FUZZ_CHECKS=${FUZZ_CHECKS:-not_a_server_error,valid_json_not_malformed}
read -r -a SERVICES <<<"${FUZZ_SERVICES:-auth interview scoring audit}"
BIN_DIR=${FUZZ_BIN_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/debug}
PG_URL=${FUZZ_PG_URL:-${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}}
REDIS_URL=${FUZZ_REDIS_URL:-${TEST_REDIS_URL:-redis://127.0.0.1:6379}}
AMQP_URL=${FUZZ_AMQP_URL:-${TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}}

say() { printf 'fuzz: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

[[ $FUZZ_SECONDS =~ ^[1-9][0-9]*$ ]] || die "FUZZ_SECONDS must be a positive whole number of seconds"
[[ $FUZZ_SEED =~ ^[0-9]+$ ]] || die "FUZZ_SEED must be a whole number"
[[ $FUZZ_WORKERS =~ ^[1-9][0-9]*$ ]] || die "FUZZ_WORKERS must be a positive whole number"
for service in "${SERVICES[@]}"; do
    case $service in auth | interview | scoring | audit) ;; *) die "unknown service in FUZZ_SERVICES: $service" ;; esac
done
for tool in python3 psql curl; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
started=$SECONDS

# --- schemathesis, installed once ----------------------------------------------------------
stamp="$VENV/.requirements-$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [[ ! -f $stamp || ! -x $VENV/bin/schemathesis ]]; then
    say "installing schemathesis (scripts/fuzz/requirements.txt) into $VENV"
    rm -rf "$VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
    # --no-deps: every package is pinned in the file; `pip check` fails if one is missing.
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$REQUIREMENTS"
    "$VENV/bin/pip" check --disable-pip-version-check >/dev/null ||
        { "$VENV/bin/pip" check --disable-pip-version-check >&2 || true; die "scripts/fuzz/requirements.txt misses a dependency"; }
    touch "$stamp"
fi
PY="$VENV/bin/python"
say "$("$VENV/bin/schemathesis" --version)"

# --- the binaries ----------------------------------------------------------------------------
BINARIES=(auth-service interview-service scoring-service audit-writer)
missing=()
for bin in "${BINARIES[@]}"; do [[ -x $BIN_DIR/$bin ]] || missing+=("$bin"); done
if ((${#missing[@]})) && [[ -n ${FUZZ_BIN_DIR:-} ]]; then
    die "not in FUZZ_BIN_DIR=$BIN_DIR: ${missing[*]}"
fi
if ((${#missing[@]})) || [[ ${FUZZ_BUILD:-} == 1 ]]; then
    ((${#missing[@]})) && say "not in $BIN_DIR: ${missing[*]}; building"
    (cd "$ROOT" && cargo build --workspace --bins)
    for bin in "${BINARIES[@]}"; do
        [[ -x $BIN_DIR/$bin ]] || die "$bin is still missing from $BIN_DIR after cargo build (set FUZZ_BIN_DIR?)"
    done
else
    newer=$(find "$ROOT/crates" "$ROOT/migrations" "$ROOT/proto" -type f \
        \( -name '*.rs' -o -name '*.proto' -o -name Cargo.toml \) -newer "$BIN_DIR/auth-service" -print -quit 2>/dev/null || true)
    [[ -z $newer ]] || say "warning: $BIN_DIR/auth-service is older than $newer; fuzzing the old build (FUZZ_BUILD=1 rebuilds)"
fi
say "binaries from $BIN_DIR"

# --- per-run resources, removed at exit ------------------------------------------------------
run_id=$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n')
DB_NAME="fuzz_$run_id"
REDIS_PREFIX="fuzz:$run_id:"
AMQP_PREFIX="fuzz.$run_id."
pg_scheme=${PG_URL%%://*}
pg_rest=${PG_URL#*://}
pg_authority=${pg_rest%%[/?]*}
pg_query="?sslmode=disable"
[[ $pg_rest == *\?* ]] && pg_query="?${pg_rest#*\?}"
pg_url() { printf '%s://%s/%s%s' "$pg_scheme" "$pg_authority" "$1" "$pg_query"; }
MAINT_URL=$(pg_url postgres)
amqp_rest=${AMQP_URL#*://}
amqp_path=${amqp_rest#*/}
[[ $amqp_path == "$amqp_rest" ]] && amqp_path=""
case ${amqp_path%%\?*} in "" | %2f | %2F) AMQP_VHOST=/ ;; *) AMQP_VHOST=other ;; esac
DATABASE_URL=$(pg_url "$DB_NAME")

declare -A PIDS=()
FUZZER_PID=""
db_created=0
# shellcheck disable=SC2317  # reached through the traps below
cleanup() {
    local status=$? name pid deadline cleanup_started=$SECONDS
    trap - EXIT INT TERM
    if [[ -n ${FUZZER_PID:-} ]]; then
        # timeout(1), which passes the signal on to schemathesis.
        kill -TERM "$FUZZER_PID" 2>/dev/null || true
        wait "$FUZZER_PID" 2>/dev/null || true
    fi
    for name in "${!PIDS[@]}"; do kill -TERM "${PIDS[$name]}" 2>/dev/null || true; done
    deadline=$((SECONDS + 15))
    for name in "${!PIDS[@]}"; do
        pid=${PIDS[$name]}
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    local stopped_in=$((SECONDS - cleanup_started))
    local dropped_in=$SECONDS
    if ((db_created)); then
        PGCONNECT_TIMEOUT=5 psql -w -q -d "$MAINT_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 ||
            say "warning: could not drop database $DB_NAME"
    fi
    dropped_in=$((SECONDS - dropped_in))
    # Queues expire by themselves (AMQP_EXPIRE_UNUSED_MS); the two durable exchanges do not,
    # and AMQP has no client-side way to list them: delete them through rabbitmqctl, where
    # this machine runs the broker (best effort; elsewhere they stay, a few bytes each).
    if [[ $AMQP_VHOST == / ]] && command -v rabbitmqctl >/dev/null; then
        timeout 30 rabbitmqctl -q eval "[rabbit_exchange:delete(rabbit_misc:r(<<\"/\">>, exchange, X), false, <<\"fuzz\">>)
            || X <- [<<\"${AMQP_PREFIX}events\">>, <<\"${AMQP_PREFIX}dead-letter\">>]]." >/dev/null 2>&1 || true
    fi
    if command -v redis-cli >/dev/null; then
        redis-cli -u "$REDIS_URL" --scan --pattern "$REDIS_PREFIX*" 2>/dev/null |
            xargs -r -n 100 redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
    fi
    say "cleaned up in $((SECONDS - cleanup_started)) s (stopping the services $stopped_in s, dropping $DB_NAME $dropped_in s)"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"

say "database $DB_NAME"
PGCONNECT_TIMEOUT=5 psql -w -q -d "$MAINT_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null
db_created=1

# Six distinct free ports on 127.0.0.1 below the ephemeral range (so no outgoing
# connection takes one before the service binds it), none of the services' defaults.
read -r AUTH_HTTP AUTH_GRPC INTERVIEW_HTTP INTERVIEW_GRPC SCORING_HTTP AUDIT_HTTP < <(
    "$PY" - <<'EOF'
import random, socket
ports, held = [], []
while len(ports) < 6:
    port = random.randint(20000, 32000)
    if port in ports:
        continue
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        continue
    held.append(sock)
    ports.append(port)
print(*ports)
EOF
)

SECRET_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
INTERNAL_API_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
AUDIT_CHAIN_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
ADMIN_EMAIL="fuzz-admin-$run_id@fuzz.example"
ADMIN_PASSWORD="Fuzz-$(od -An -N9 -tx1 /dev/urandom | tr -d ' \n')-A1"

COMMON_ENV=(
    "DATABASE_URL=$DATABASE_URL"
    "INTERNAL_API_KEY=$INTERNAL_API_KEY"
    "AMQP_URL=$AMQP_URL"
    "AMQP_PREFIX=$AMQP_PREFIX"
    "AMQP_EXPIRE_UNUSED_MS=60000"
    "RUST_BACKTRACE=1"
    "LOG_LEVEL=${FUZZ_LOG_LEVEL:-info}"
    # Thousands of calls a minute as one user: the API limit would answer most of them.
    "API_RATE_LIMIT_PER_MINUTE=0"
)
AUTH_ENV=(
    "REDIS_URL=$REDIS_URL"
    "REDIS_KEY_PREFIX=$REDIS_PREFIX"
    "SECRET_KEY=$SECRET_KEY"
    "AUTH_HTTP_ADDR=127.0.0.1:$AUTH_HTTP"
    "AUTH_GRPC_ADDR=127.0.0.1:$AUTH_GRPC"
    # The fuzzer posts to /auth/login all the time; its own re-login must not be limited.
    "LOGIN_RATE_LIMIT_PER_MINUTE=0"
    "LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE=0"
    # ... and refreshes: a 429 there would hide what a refresh does with its input.
    "REFRESH_RATE_LIMIT_PER_MINUTE=0"
    "REFRESH_RATE_LIMIT_PER_IP_PER_MINUTE=0"
    # It creates users all the time, too.
    "USER_CREATION_RATE_LIMIT_PER_HOUR=0"
    # Its logins as the admin would otherwise end its own (least recently used) session.
    "MAX_SESSIONS_PER_USER=0"
    # Longer than any run, so expiry never looks like a revoked session.
    "ACCESS_TOKEN_EXPIRE_MINUTES=60"
    # Wrong current passwords (POST /users/me/password) and wrong codes (DELETE
    # /users/me/mfa/totp) count toward the admin's lockout like failed sign-ins: a
    # threshold no run reaches, so the fuzzer's re-login keeps working.
    "LOCKOUT_THRESHOLD=1000"
    # Reset mails (of the fuzzer's made-up addresses, or the admin's) as files of this run.
    "MAIL_DIR=$LOG_DIR/mail"
    # A user's export gathers the other services' parts.
    "INTERVIEW_HTTP_URL=http://127.0.0.1:$INTERVIEW_HTTP"
    "SCORING_HTTP_URL=http://127.0.0.1:$SCORING_HTTP"
    "AUDIT_HTTP_URL=http://127.0.0.1:$AUDIT_HTTP"
)

auth_bin() { env "${COMMON_ENV[@]}" "${AUTH_ENV[@]}" "$BIN_DIR/auth-service" "$@"; }

say "auth-service migrate"
auth_bin migrate >"$LOG_DIR/migrate.log" 2>&1 || { tail -n 20 "$LOG_DIR/migrate.log" >&2; die "migrate failed"; }
ADMIN_PASSWORD="$ADMIN_PASSWORD" ADMIN_COMPANY="Fuzz Company $run_id" ADMIN_EMAIL="$ADMIN_EMAIL" \
    auth_bin create-admin >"$LOG_DIR/create-admin.log" 2>&1 ||
    { tail -n 20 "$LOG_DIR/create-admin.log" >&2; die "create-admin failed"; }

declare -A PORTS=([auth]=$AUTH_HTTP [interview]=$INTERVIEW_HTTP [scoring]=$SCORING_HTTP [audit]=$AUDIT_HTTP)
declare -A BINS=([auth]=auth-service [interview]=interview-service [scoring]=scoring-service [audit]=audit-writer)
base_url() { printf 'http://127.0.0.1:%s' "${PORTS[$1]}"; }

start() {
    local name=$1
    shift
    env "${COMMON_ENV[@]}" "$@" "$BIN_DIR/${BINS[$name]}" >"$LOG_DIR/$name.log" 2>&1 &
    PIDS[$name]=$!
}

wait_ready() {
    local name=$1 deadline=$((SECONDS + 60))
    until curl -fsS -o /dev/null --max-time 2 "$(base_url "$name")/readyz" 2>/dev/null; do
        if ! kill -0 "${PIDS[$name]}" 2>/dev/null; then
            tail -n 30 "$LOG_DIR/$name.log" >&2
            die "$name exited before it was ready (log: $LOG_DIR/$name.log)"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 30 "$LOG_DIR/$name.log" >&2
            die "$name not ready within 60 s (log: $LOG_DIR/$name.log)"
        fi
        sleep 0.2
    done
    say "$name ready on $(base_url "$name") (log: target/fuzz-logs/$name.log)"
}

start auth "${AUTH_ENV[@]}"
wait_ready auth
start interview "AUTH_GRPC_URL=http://127.0.0.1:$AUTH_GRPC" \
    "INTERVIEW_HTTP_ADDR=127.0.0.1:$INTERVIEW_HTTP" "INTERVIEW_GRPC_ADDR=127.0.0.1:$INTERVIEW_GRPC" \
    "SCORING_HTTP_URL=http://127.0.0.1:$SCORING_HTTP" "AUDIT_HTTP_URL=http://127.0.0.1:$AUDIT_HTTP"
start scoring "AUTH_GRPC_URL=http://127.0.0.1:$AUTH_GRPC" \
    "INTERVIEW_GRPC_URL=http://127.0.0.1:$INTERVIEW_GRPC" "SCORING_HTTP_ADDR=127.0.0.1:$SCORING_HTTP"
start audit "AUTH_GRPC_URL=http://127.0.0.1:$AUTH_GRPC" "AUDIT_HTTP_ADDR=127.0.0.1:$AUDIT_HTTP" \
    "AUDIT_CHAIN_KEY=$AUDIT_CHAIN_KEY"
for name in interview scoring audit; do wait_ready "$name"; done

# --- sign in ---------------------------------------------------------------------------------
AUTH_URL=$(base_url auth)
login_body=$(ADMIN_EMAIL="$ADMIN_EMAIL" ADMIN_PASSWORD="$ADMIN_PASSWORD" "$PY" -c \
    'import json, os; print(json.dumps({"email": os.environ["ADMIN_EMAIL"], "password": os.environ["ADMIN_PASSWORD"]}))')
login_reply=$(curl -sS --max-time 30 -H 'Content-Type: application/json' -d "$login_body" \
    -w '\n%{http_code}' "$AUTH_URL/api/v1/auth/login")
[[ ${login_reply##*$'\n'} == 200 ]] || die "login failed: $login_reply"
ACCESS_TOKEN=$("$PY" -c 'import json, sys; print(json.loads(sys.stdin.read())["access_token"])' <<<"${login_reply%$'\n'*}")
me() { curl -sS --max-time 10 -H "Authorization: Bearer $1" -w '\n%{http_code}' "$AUTH_URL/api/v1/users/me"; }
me_reply=$(me "$ACCESS_TOKEN")
[[ ${me_reply##*$'\n'} == 200 ]] || die "GET /api/v1/users/me with the new token failed: $me_reply"
ADMIN_ID=$("$PY" -c 'import json, sys; print(json.loads(sys.stdin.read())["id"])' <<<"${me_reply%$'\n'*}")
say "signed in as $ADMIN_EMAIL (user $ADMIN_ID)"
# A second admin, where hooks.py sends the requests that would change the fuzzer's own
# account: they still reach the handlers with a real user.
decoy_body=$(RUN_ID="$run_id" PASSWORD="$ADMIN_PASSWORD" "$PY" -c 'import json, os; print(json.dumps({
    "email": "fuzz-decoy-" + os.environ["RUN_ID"] + "@fuzz.example", "full_name": "Fuzz Decoy",
    "password": os.environ["PASSWORD"], "role": "admin"}))')
decoy_reply=$(curl -sS --max-time 30 -H 'Content-Type: application/json' -H "Authorization: Bearer $ACCESS_TOKEN" \
    -d "$decoy_body" -w '\n%{http_code}' "$AUTH_URL/api/v1/users")
[[ ${decoy_reply##*$'\n'} == 201 ]] || die "creating the decoy admin failed: $decoy_reply"
DECOY_ID=$("$PY" -c 'import json, sys; print(json.loads(sys.stdin.read())["id"])' <<<"${decoy_reply%$'\n'*}")

# --- fuzz ------------------------------------------------------------------------------------
# Operations left out, per service. Logout revokes the fuzzer's own session and has no
# input but the token (see hooks.py for the rest of what keeps the admin usable).
declare -A EXCLUDES=([auth]="POST /api/v1/auth/logout")

declare -A DURATION=() STATUS=() TOKEN_OK=()
for service in "${SERVICES[@]}"; do
    out="$LOG_DIR/$service"
    mkdir -p "$out"
    args=(
        run "$(base_url "$service")/openapi.json"
        --checks "$FUZZ_CHECKS"
        --seed "$FUZZ_SEED"
        --max-time "$FUZZ_SECONDS"
        --workers "$FUZZ_WORKERS"
        --continue-on-failure
        --request-timeout 10
        --generation-database none
        --report-json-path "$out/report.json" --report-junit-path "$out/junit.xml"
        --no-color
    )
    if [[ -n ${EXCLUDES[$service]:-} ]]; then
        while IFS= read -r name; do args+=(--exclude-name "$name"); done <<<"${EXCLUDES[$service]}"
    fi
    say "schemathesis: $service, ${FUZZ_SECONDS} s, seed $FUZZ_SEED (output: target/fuzz-logs/$service/output.log)"
    t0=$SECONDS
    # In the background with `wait`, so that a TERM or INT to this script is handled at once
    # (cleanup ends schemathesis by its id) rather than after the run. The hard limit only
    # guards against a hung run; schemathesis stops itself at --max-time.
    exec {tee_fd}> >(tee "$out/output.log")
    tee_pid=$!
    (cd "$out" && exec env SCHEMATHESIS_HOOKS="$HOOKS" FUZZ_SERVICE="$service" FUZZ_RECORDS="$out/records.jsonl" \
        FUZZ_AUTH_URL="$AUTH_URL" FUZZ_ADMIN_EMAIL="$ADMIN_EMAIL" FUZZ_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
        FUZZ_ADMIN_ID="$ADMIN_ID" FUZZ_DECOY_ID="$DECOY_ID" FUZZ_ACCESS_TOKEN="$ACCESS_TOKEN" \
        timeout -s INT -k 30 $((FUZZ_SECONDS * 2 + 120)) "$VENV/bin/schemathesis" "${args[@]}") \
        >&"$tee_fd" 2>&1 &
    FUZZER_PID=$!
    status=0
    wait "$FUZZER_PID" || status=$?
    FUZZER_PID=""
    exec {tee_fd}>&-
    wait "$tee_pid" 2>/dev/null || true
    STATUS[$service]=$status
    DURATION[$service]=$((SECONDS - t0))
    # Is the session fuzz.sh signed in with still good? (hooks.py re-logs in if it is not.)
    token_reply=$(me "$ACCESS_TOKEN" 2>/dev/null || true)
    TOKEN_OK[$service]=${token_reply##*$'\n'}
done

# --- verdict ---------------------------------------------------------------------------------
declare -A ALIVE=()
for name in "${!PIDS[@]}"; do
    if kill -0 "${PIDS[$name]}" 2>/dev/null; then ALIVE[$name]=1; else ALIVE[$name]=0; fi
done
summary_args=()
for service in "${SERVICES[@]}"; do
    summary_args+=("$service" "${STATUS[$service]}" "${DURATION[$service]}" "${TOKEN_OK[$service]}")
done
services_state=""
for name in auth interview scoring audit; do services_state+="$name=${ALIVE[$name]:-0} "; done

set +e
LOG_DIR="$LOG_DIR" SERVICES_ALIVE="$services_state" FUZZ_SECONDS="$FUZZ_SECONDS" FUZZ_SEED="$FUZZ_SEED" \
    ELAPSED=$((SECONDS - started)) "$PY" - "${summary_args[@]}" <<'EOF'
import json, os, re, sys
from collections import Counter, OrderedDict
from pathlib import Path

log_dir = Path(os.environ["LOG_DIR"])
alive = dict(item.split("=") for item in os.environ["SERVICES_ALIVE"].split())
args = sys.argv[1:]
runs = [args[i:i + 4] for i in range(0, len(args), 4)]

# Errors that say the schema could not be turned into requests, not that a request went
# wrong: listed, but they do not fail the run.
GENERATION_ERRORS = {
    "Schema Error", "Failed Health Check", "Missing Open API links", "Invalid OpenAPI Links Definition",
    "Serialization not possible", "XML serialization error", "Unsupported type",
}

def short(text, limit=160):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."

def detail_of(body):
    try:
        value = json.loads(body)
        if isinstance(value, dict) and "detail" in value:
            return str(value["detail"])
    except Exception:
        pass
    return body

def panics(name):
    path = log_dir / f"{name}.log"
    if not path.exists():
        return []
    found = Counter()
    lines = path.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        if "panicked" in line:
            match = re.search(r"panicked at ([^\s\"',]+?):?(?:\s|$)", line)
            where = match.group(1) if match else short(line, 200)
            # Rust's panic hook puts the message on the line after "panicked at <location>:".
            message = lines[i + 1] if match and line.rstrip().endswith(":") and i + 1 < len(lines) else ""
            where = re.sub(r"^.*/registry/src/[^/]+/", "", where)
            # The first frame in the workspace's own code: the backtrace's "at .../crates/...".
            frame = ""
            for later in lines[i + 1 : i + 400]:
                if "panicked" in later:
                    break
                hit = re.search(r"^\s+at \S*?(crates/\S+)", later)
                if hit:
                    frame = f" (from {hit.group(1)})"
                    break
            found[(f"{where}: {short(message, 200)}" if message else where) + frame] += 1
    return list(found.items())

failed_services, lines = [], []
for service, status, duration, token_status in runs:
    out = log_dir / service
    problems, notes = [], []
    report = None
    try:
        report = json.loads((out / "report.json").read_text())
    except Exception:
        pass
    records = []
    records_path = out / "records.jsonl"
    if records_path.exists():
        records = [json.loads(line) for line in records_path.read_text().splitlines() if line.strip()]

    print(f"\n=== {service}: schemathesis exit {status}, {duration} s")
    if report is None:
        problems.append("no schemathesis report (did it start? see output.log)")
    else:
        ops = report.get("operations") or {}
        cases = report.get("test_cases") or {}
        print(f"operations: {ops.get('tested', '?')} tested of {ops.get('selected', '?')} selected "
              f"({ops.get('total', '?')} in the schema); test cases generated: {cases.get('generated', '?')}; "
              f"stop reason: {report.get('stop_reason')}")
        for failure in report.get("failures") or []:
            problems.append(f"check {failure.get('title') or failure.get('type')} ({failure.get('code')}): "
                            f"{failure.get('count')} case(s) on {', '.join(failure.get('operations') or [])}")
        for error in report.get("errors") or []:
            text = f"error \"{error['title']}\" x{error['count']}"
            (notes if error["title"] in GENERATION_ERRORS else problems).append(text)
        # A path parameter the document does not declare: those operations went unfuzzed.
        output = (out / "output.log").read_text(errors="replace") if (out / "output.log").exists() else ""
        undeclared = sorted(set(re.findall(r"Path parameter '([^']+)' is not defined", output)))
        if undeclared:
            problems.append("the OpenAPI document leaves path parameter(s) undeclared, so their "
                            "operations were not fuzzed: " + ", ".join(undeclared))
        auth = report.get("auth") or {}
        if auth.get("reauth_count") or auth.get("reauth_broke"):
            notes.append(f"the fuzzer's session was rejected mid-run: re-authenticated "
                            f"{auth.get('reauth_count')} time(s), re-login broke: {auth.get('reauth_broke')}")
        for label, operations in sorted((report.get("warnings") or {}).items()):
            if operations:
                notes.append(f"schemathesis warning {label}: " + ", ".join(map(str, operations)))
        rates = report.get("valid_rates") or {}
        for label, phases in sorted(rates.items()):
            accepted = sum(r.get("accepted", 0) for r in phases.values())
            total = sum(sum(r.get(k, 0) for k in ("accepted", "unreachable", "conflicts", "rejected"))
                        for r in phases.values())
            if total and accepted * 10 < total:
                notes.append(f"mostly rejected: {label}: {accepted} of {total} valid cases accepted")

    server_errors = OrderedDict()
    network_errors = OrderedDict()
    malformed = OrderedDict()
    relogins = Counter()
    guarded = Counter()
    for record in records:
        kind = record.get("kind")
        if kind == "server_error":
            key = (record.get("operation"), record.get("status"), short(detail_of(record.get("response", "")), 120))
            server_errors.setdefault(key, []).append(record)
        elif kind == "network_error":
            network_errors.setdefault(record.get("operation"), []).append(record)
        elif kind == "malformed_json":
            malformed.setdefault(record.get("operation"), []).append(record)
        elif kind == "relogin":
            relogins[record.get("operation")] += 1
        elif kind == "guarded":
            guarded[record.get("operation")] += 1
    for (operation, code, detail), items in server_errors.items():
        first = items[0]
        problems.append(f"HTTP {code} from {operation} x{len(items)}: {detail}\n"
                        f"        e.g. {first.get('method')} {first.get('url')}"
                        + (f"  body: {short(first.get('body'), 300)}" if first.get("body") else ""))
    for operation, items in network_errors.items():
        first = items[0]
        problems.append(f"no response (connection dropped or timed out) from {operation} x{len(items)}\n"
                        f"        e.g. {first.get('method')} {first.get('url')}"
                        + (f"  body: {short(first.get('body'), 300)}" if first.get("body") else ""))
    for operation, items in malformed.items():
        first = items[0]
        problems.append(f"400 \"Malformed JSON\" for well-formed JSON from {operation} x{len(items)}: "
                        f"{short(first.get('response'), 120)}\n"
                        f"        e.g. {first.get('method')} {first.get('url')}  body: {short(first.get('body'), 300)}")
    for operation, count in relogins.items():
        notes.append(f"WARNING: the fuzzer's session was revoked; hooks.py logged in again {count} time(s), "
                     f"first on a 401 from {operation}: a new way to revoke it, to guard in hooks.py")
    if guarded:
        notes.append("changes of the fuzzer's own account sent to the decoy admin instead (hooks.py): "
                     + ", ".join(f"{op} x{n}" for op, n in guarded.items()))
    if token_status != "200":
        notes.append(f"fuzz.sh's own token no longer works after this run (GET /users/me: {token_status or 'no answer'})")
    for location, count in panics(service):
        problems.append(f"panic in target/fuzz-logs/{service}.log x{count}: at {location}")
    if alive.get(service) != "1":
        problems.append(f"the {service} service is no longer running (log: target/fuzz-logs/{service}.log)")
    if status not in ("0", "1"):
        problems.append(f"schemathesis exited {status} (124/130: overran its time limit or was interrupted)")

    for note in notes:
        print(f"  note: {note}")
    for problem in problems:
        print(f"  FAIL: {problem}")
    if problems:
        failed_services.append(service)
    lines.append(f"  {service:<10} {'FAIL' if problems else 'ok':<5} {duration:>4} s  "
                 f"{len(server_errors)} kind(s) of 5xx, {len(network_errors)} operation(s) dropping connections, "
                 f"{len(malformed)} calling valid JSON malformed, "
                 f"{sum(n for _, n in panics(service))} panic(s)")

# Services that were running but not fuzzed this time still must not have panicked.
for name in ("auth", "interview", "scoring", "audit"):
    if name not in [run[0] for run in runs]:
        found = panics(name)
        if found:
            failed_services.append(name)
            lines.append(f"  {name:<10} FAIL  panicked (not fuzzed itself): " + ", ".join(loc for loc, _ in found))

print(f"\n=== fuzz summary (seed {os.environ['FUZZ_SEED']}, {os.environ['FUZZ_SECONDS']} s per service, "
      f"{os.environ['ELAPSED']} s in all; reports in target/fuzz-logs/)")
print("\n".join(lines))
sys.exit(1 if failed_services else 0)
EOF
verdict=$?
set -e
say "fuzzing done in $((SECONDS - started)) s"
exit "$verdict"
