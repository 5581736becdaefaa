#!/usr/bin/env bash
# Benchmarks (`make bench`, `make bench-compare`): build the release binaries, start the
# four services against a fresh database on the real PostgreSQL, Redis and RabbitMQ, and
# measure them with the peers' wrk driver (../shared/peers/bench: GET /users/me at 64
# connections, login at 16, chained refresh at 16, /users/me alone and during logins),
# then the other services' reads at 64 connections (scripts/bench_reads.py closed), then
# 10,000 keep-alive connections with an open-loop 5,000 req/s of mixed reads for 60 s (oha,
# scripts/bench_reads.py open), and each service's memory (RSS now, and its peak).
#
#   scripts/bench.sh            the project alone; prints the driver's table and ours
#   scripts/bench.sh compare    ../shared/peers/compare.sh: the FastAPI peer and the
#                               project alternating, two rounds, medians and ratios
#
# Rate limits, lockout and the session limit are off for the run (every request comes from one address and
# one account), logging at warn. Benchmarks, not tests: nothing here fails on a number.
# Environment: BENCH_PARTS (which of auth,reads,open,memory to run; default all),
# MEMORY_SECONDS (the memory part: sign-ins at 16 connections for this long, auth's RSS
# sampled every 10 s and after; default 300, the issue's five minutes), BENCH_PEERS
# (default ../shared/peers), DURATION (driver's seconds per run,
# default 15), OPEN_CONNECTIONS / OPEN_RATE / OPEN_SECONDS (the open loop: 10000, 5000,
# 60), BENCH_PG_URL / BENCH_REDIS_URL / BENCH_AMQP_URL (default the local servers).
# Logs and results: target/bench/ (replaced by the next run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=${1:-alone}
PEERS=${BENCH_PEERS:-$ROOT/../shared/peers}
OUT="$ROOT/target/bench"
PG_URL=${BENCH_PG_URL:-${TEST_PG_URL:-postgres://postgres@127.0.0.1:5432}}
REDIS_URL=${BENCH_REDIS_URL:-${TEST_REDIS_URL:-redis://127.0.0.1:6379}}
AMQP_URL=${BENCH_AMQP_URL:-${TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}}
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[[ -x $PEERS/bench/run.sh ]] || die "no peers' driver at $PEERS/bench/run.sh (set BENCH_PEERS)"
if ! command -v wrk >/dev/null; then
    say "installing wrk (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || die "apt-get install wrk failed"
fi

say "building release binaries"
(cd "$ROOT" && cargo build --release --bins -q)

rm -rf "$OUT" && mkdir -p "$OUT"
run_id=$(date +%s)-$$
DB="bench_${run_id//-/_}"
psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null
DATABASE_URL="$PG_URL/$DB?sslmode=disable"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AUTH_HTTP=$(free_port) AUTH_GRPC=$(free_port) INTERVIEW_HTTP=$(free_port)
INTERVIEW_GRPC=$(free_port) SCORING_HTTP=$(free_port) AUDIT_HTTP=$(free_port)
EMAIL=bench-admin@bench.example
PASSWORD=Bench-Passw0rd-$run_id
KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')

COMMON=(
    "DATABASE_URL=$DATABASE_URL" "INTERNAL_API_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
    "AMQP_URL=$AMQP_URL" "AMQP_PREFIX=bench.$run_id." "AMQP_EXPIRE_UNUSED_MS=60000"
    "LOG_LEVEL=warn" "API_RATE_LIMIT_PER_MINUTE=0"
)
AUTH=(
    "REDIS_URL=$REDIS_URL" "REDIS_KEY_PREFIX=bench:$run_id:" "SECRET_KEY=$KEY"
    "AUTH_HTTP_ADDR=127.0.0.1:$AUTH_HTTP" "AUTH_GRPC_ADDR=127.0.0.1:$AUTH_GRPC"
    "LOGIN_RATE_LIMIT_PER_MINUTE=0" "LOGIN_RATE_LIMIT_PER_IP_PER_MINUTE=0"
    "REFRESH_RATE_LIMIT_PER_MINUTE=0" "REFRESH_RATE_LIMIT_PER_IP_PER_MINUTE=0"
    "LOCKOUT_MINUTES=0" "MAX_SESSIONS_PER_USER=0" "ACCESS_TOKEN_EXPIRE_MINUTES=60"
)
declare -A PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    redis-cli -u "$REDIS_URL" --scan --pattern "bench:$run_id:*" 2>/dev/null | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
    psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

env "${COMMON[@]}" "${AUTH[@]}" "$BIN/auth-service" migrate >"$OUT/migrate.log" 2>&1
ADMIN_COMPANY="Bench Company" ADMIN_EMAIL=$EMAIL ADMIN_PASSWORD=$PASSWORD \
    env "${COMMON[@]}" "${AUTH[@]}" "$BIN/auth-service" create-admin >"$OUT/create-admin.log" 2>&1

start() {
    local name=$1 bin=$2
    shift 2
    env "${COMMON[@]}" "$@" "$BIN/$bin" >"$OUT/$name.log" 2>&1 &
    PIDS[$name]=$!
}
ready() {
    local name=$1 port=$2 deadline=$((SECONDS + 60))
    until curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz"; do
        kill -0 "${PIDS[$name]}" 2>/dev/null || { tail -n 20 "$OUT/$name.log" >&2; die "$name exited"; }
        ((SECONDS < deadline)) || die "$name not ready in 60 s"
        sleep 0.2
    done
}
start auth auth-service "${AUTH[@]}"
ready auth "$AUTH_HTTP"
start interview interview-service "AUTH_GRPC_URL=http://127.0.0.1:$AUTH_GRPC" \
    "INTERVIEW_HTTP_ADDR=127.0.0.1:$INTERVIEW_HTTP" "INTERVIEW_GRPC_ADDR=127.0.0.1:$INTERVIEW_GRPC"
start scoring scoring-service "AUTH_GRPC_URL=http://127.0.0.1:$AUTH_GRPC" \
    "INTERVIEW_GRPC_URL=http://127.0.0.1:$INTERVIEW_GRPC" "SCORING_HTTP_ADDR=127.0.0.1:$SCORING_HTTP"
start audit audit-writer "AUTH_GRPC_URL=http://127.0.0.1:$AUTH_GRPC" "AUDIT_HTTP_ADDR=127.0.0.1:$AUDIT_HTTP" \
    "AUDIT_CHAIN_KEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
ready interview "$INTERVIEW_HTTP"
ready scoring "$SCORING_HTTP"
ready audit "$AUDIT_HTTP"

rss() { # name: "RSS now / peak" in MB
    awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%.0f / %.0f MB", r/1024, h/1024}' "/proc/${PIDS[$1]}/status"
}
declare -A IDLE=()
for name in auth interview scoring audit; do IDLE[$name]=$(rss "$name"); done

AUTH_URL="http://127.0.0.1:$AUTH_HTTP"
PARTS=",${BENCH_PARTS:-auth,reads,open,memory},"
if [[ $PARTS != *,auth,* ]]; then
    say "skipping the peers' driver (BENCH_PARTS)"
elif [[ $MODE == compare ]]; then
    say "peer and project alternating (../shared/peers/compare.sh)"
    "$PEERS/compare.sh" "$AUTH_URL" "$EMAIL" "$PASSWORD" 2 "$OUT/compare" | tee "$OUT/compare.txt"
else
    say "the peers' driver against auth"
    LABEL=project "$PEERS/bench/run.sh" "$AUTH_URL" "$EMAIL" "$PASSWORD" "$OUT/auth.json" | tee "$OUT/auth.txt"
fi
AFTER_LOGINS=$(rss auth)

# Auth's memory under sign-ins (issue 12: flat, at most 100 MB after five minutes): wrk
# posting logins at 16 connections for MEMORY_SECONDS, RSS every 10 s, then 10 s after.
if [[ $PARTS == *,memory,* ]]; then
    seconds=${MEMORY_SECONDS:-300}
    say "auth's memory under ${seconds} s of sign-ins (16 connections)"
    BENCH_LUA_DIR="$PEERS/bench/lua" BENCH_BODY="{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" \
        wrk -t2 -c16 -d"${seconds}s" -s "$PEERS/bench/lua/post_json.lua" "$AUTH_URL/api/v1/auth/login" \
        >"$OUT/memory-wrk.txt" 2>&1 &
    wrk_pid=$!
    samples=()
    while kill -0 "$wrk_pid" 2>/dev/null; do
        samples+=("$(awk '/^VmRSS/ {printf "%.0f", $2/1024}' "/proc/${PIDS[auth]}/status")")
        sleep 10
    done
    wait "$wrk_pid" || true
    sleep 10
    {
        echo
        echo "auth RSS (MB) every 10 s of ${seconds} s of sign-ins: ${samples[*]}"
        echo "auth RSS now / peak: $(rss auth); $(grep -m1 'Requests/sec' "$OUT/memory-wrk.txt" || true)"
    } | tee "$OUT/memory.txt"
fi

# Reads on the other services: twenty a page, as the issue measures them, on a company
# with forty candidates, ten interviews and five rubrics.
token=$(curl -fsS -H 'Content-Type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" "$AUTH_URL/api/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
me=$(curl -fsS -H "Authorization: Bearer $token" "$AUTH_URL/api/v1/users/me" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
post() { # url body: the created resource's id
    curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$2" "$1" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
INTERVIEW="http://127.0.0.1:$INTERVIEW_HTTP" SCORING="http://127.0.0.1:$SCORING_HTTP"
# One interviewer (the admin) cannot be in two interviews at once: a day apart each.
start_at() { python3 -c 'import datetime as d, sys; print((d.datetime.now(d.timezone.utc) + d.timedelta(days=7 + int(sys.argv[1]))).strftime("%Y-%m-%dT%H:%M:%SZ"))' "$1"; }
for i in $(seq 1 40); do
    candidate=$(post "$INTERVIEW/api/v1/candidates" "{\"full_name\":\"Candidate $i\",\"email\":\"c$i-$run_id@bench.example\"}")
    if ((i <= 10)); then
        post "$INTERVIEW/api/v1/interviews" "{\"candidate_id\":\"$candidate\",\"interviewer_ids\":[\"$me\"],\"title\":\"Loop $i\",\"kind\":\"onsite\",\"scheduled_at\":\"$(start_at "$i")\",\"duration_minutes\":60}" >/dev/null
    fi
done
for i in $(seq 1 5); do
    post "$SCORING/api/v1/rubrics" "{\"name\":\"Rubric $i\",\"criteria\":[{\"key\":\"code\",\"name\":\"Code\",\"description\":\"\",\"weight\":1}]}" >/dev/null
done
READS=(
    "GET /api/v1/users/me (auth)|$AUTH_URL/api/v1/users/me|${PIDS[auth]}"
    "GET /api/v1/candidates?limit=20 (interview)|$INTERVIEW/api/v1/candidates?limit=20|${PIDS[interview]}"
    "GET /api/v1/interviews?limit=20 (interview)|$INTERVIEW/api/v1/interviews?limit=20|${PIDS[interview]}"
    "GET /api/v1/rubrics?limit=20 (scoring)|$SCORING/api/v1/rubrics?limit=20|${PIDS[scoring]}"
)
[[ $PARTS != *,reads,* ]] || python3 "$ROOT/scripts/bench_reads.py" closed "$OUT/reads.json" "$token" "${DURATION:-15}" "${READS[@]:1}" |
    tee "$OUT/reads.txt"

# The TRD's 10,000 concurrent users: keep-alive connections held open against the four
# reads, an open-loop load at a fixed rate (oha, from crates.io, into target/tools).
OHA_BIN="$ROOT/target/tools/bin/oha"
if [[ $PARTS == *,open,* && ! -x $OHA_BIN ]]; then
    say "installing oha 1.16.0 (crates.io) into target/tools"
    cargo install oha --version 1.16.0 --locked --root "$ROOT/target/tools" -q
fi
[[ $PARTS != *,open,* ]] || OHA=$OHA_BIN python3 "$ROOT/scripts/bench_reads.py" open "$OUT/open-loop.json" "$token" \
    "${OPEN_SECONDS:-60}" "${OPEN_CONNECTIONS:-10000}" "${OPEN_RATE:-5000}" "${READS[@]}" |
    tee "$OUT/open-loop.txt"

{
    echo
    echo "| service | RSS idle / peak | after the load / peak |"
    echo "|---|---|---|"
    echo "| auth (after the auth scenarios) | ${IDLE[auth]} | $AFTER_LOGINS |"
    for name in interview scoring audit; do echo "| $name | ${IDLE[$name]} | $(rss "$name") |"; done
} | tee "$OUT/project.txt"
