# AI Interviewer Platform: the everyday commands.
#
#   make run      the whole platform on the embedded default (SQLite, in-process token
#                 store, in-process events): auth :8000, interview :8001, scoring :8002,
#                 audit-writer :8003
#   make test     the whole test suite (see the `test` recipe for what it needs)
#   make fmt      check formatting
#   make lint     clippy, warnings are errors
#   make migrate  apply database migrations to DATABASE_URL
#   make validate-deploy  check docker-compose.yml and deploy/ against their schemas
#   make fuzz     fuzz the four services' HTTP APIs (scripts/fuzz.sh): no 5xx, drop or panic
#   make bench    release build, the stack on the real servers, the peers' wrk driver and
#                 the interview reads (scripts/bench.sh); prints the tables
#   make bench-compare  the same stack against the FastAPI peer (../shared/peers/compare.sh)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
# Each recipe runs as one bash script, so `test` can keep its logic here.
.ONESHELL:

# Where the real-backend suites find their servers. Each test creates its own database
# under TEST_PG_URL and its own key prefix under TEST_REDIS_URL.
TEST_PG_URL ?= postgres://postgres@127.0.0.1:5432
TEST_REDIS_URL ?= redis://127.0.0.1:6379
TEST_AMQP_URL ?= amqp://guest:guest@127.0.0.1:5672/%2f
export TEST_PG_URL TEST_REDIS_URL TEST_AMQP_URL

.PHONY: run test fmt lint migrate validate-deploy fuzz bench bench-compare

run:
	cargo run -p interviewer

# With PostgreSQL and Redis answering: every suite (`cargo test --workspace`), after
# dropping test databases left behind by interrupted runs.
# Without them: everything except the real-backend suites (tests/api of the services), and
# says so; with REQUIRE_BACKENDS=1 (CI) a missing server is a failure instead.
test:
	@
	# "host port" of a URL such as postgres://user:pw@host:5432/db?x=y; $$2 is the default port.
	host_port() {
	  local rest=$${1#*://} host port
	  rest=$${rest%%[/?]*}
	  rest=$${rest##*@}
	  if [[ $$rest == \[*\]* ]]; then
	    host=$${rest%%]*}; host=$${host#\[}; port=$${rest#*]}; port=$${port#:}
	  elif [[ $$rest == *:* ]]; then
	    host=$${rest%:*}; port=$${rest##*:}
	  else
	    host=$$rest; port=
	  fi
	  echo "$${host:-127.0.0.1} $${port:-$$2}"
	}
	tcp_answers() { timeout 1 bash -c 'exec 3<>"/dev/tcp/$$1/$$2"' _ "$$1" "$$2" 2>/dev/null; }
	# Any RESP reply to PING (+PONG, or an error such as -NOAUTH) means Redis is there.
	redis_answers() {
	  local reply
	  reply=$$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$$1/$$2" && printf "PING\r\n" >&3 && IFS= read -r -t 1 line <&3 && printf "%s" "$$line"' _ "$$1" "$$2" 2>/dev/null) || true
	  [[ $$reply == [+-]* ]]
	}

	read -r pg_host pg_port <<<"$$(host_port "$$TEST_PG_URL" 5432)"
	read -r redis_host redis_port <<<"$$(host_port "$$TEST_REDIS_URL" 6379)"
	read -r amqp_host amqp_port <<<"$$(host_port "$$TEST_AMQP_URL" 5672)"
	missing=()
	tcp_answers "$$pg_host" "$$pg_port" || missing+=("PostgreSQL ($$pg_host:$$pg_port)")
	redis_answers "$$redis_host" "$$redis_port" || missing+=("Redis ($$redis_host:$$redis_port)")
	tcp_answers "$$amqp_host" "$$amqp_port" || missing+=("RabbitMQ ($$amqp_host:$$amqp_port)")

	if (( $${#missing[@]} == 0 )); then
	  if command -v psql >/dev/null; then
	    # The maintenance database on the same server: scheme://authority/postgres?query
	    scheme=$${TEST_PG_URL%%://*}; rest=$${TEST_PG_URL#*://}; query=
	    if [[ $$rest == *\?* ]]; then query="?$${rest#*\?}"; fi
	    maint="$$scheme://$${rest%%[/?]*}/postgres$$query"
	    export PGCONNECT_TIMEOUT=5
	    { psql -w -d "$$maint" -Atc "select datname from pg_database where datname like 'auth\_test\_%'" 2>/dev/null || true; } |
	      while IFS= read -r db; do
	        [[ -n $$db ]] || continue
	        dropdb -w --if-exists --maintenance-db="$$maint" "$$db" 2>/dev/null || true
	      done
	  fi
	  echo "+ cargo test --workspace"
	  cargo test --workspace
	  exit 0
	fi

	names=$$(IFS=,; echo "$${missing[*]}"); names=$${names//,/, }
	if [[ $${REQUIRE_BACKENDS:-} == 1 ]]; then
	  echo "make test: REQUIRE_BACKENDS=1 but not answering: $$names" >&2
	  echo "  (PostgreSQL from TEST_PG_URL, Redis from TEST_REDIS_URL)" >&2
	  exit 1
	fi
	skipped="SKIPPED: the real-backend suites (tests/api of auth-service, interview-service, scoring-service and audit-writer) need PostgreSQL at $$pg_host:$$pg_port (TEST_PG_URL), Redis at $$redis_host:$$redis_port (TEST_REDIS_URL) and RabbitMQ at $$amqp_host:$$amqp_port (TEST_AMQP_URL); not answering: $$names"
	echo "$$skipped"
	echo "+ cargo test --workspace --exclude auth-service --exclude interview-service --exclude scoring-service --exclude audit-writer"
	cargo test --workspace --exclude auth-service --exclude interview-service --exclude scoring-service --exclude audit-writer
	echo "+ cargo test -p auth-service -p interview-service -p scoring-service -p audit-writer --lib"
	cargo test -p auth-service -p interview-service -p scoring-service -p audit-writer --lib
	echo
	echo "$$skipped"

fmt:
	cargo fmt --all -- --check

lint:
	cargo clippy --workspace --all-targets -- -D warnings

# docker-compose.yml against the Compose Specification, deploy/ against the Kubernetes
# schemas (strict); the tools install themselves under target/.
validate-deploy:
	bash scripts/validate-compose.sh
	bash scripts/validate-k8s.sh --self-test

# API fuzzing: the four standalone binaries (from FUZZ_BIN_DIR, default target/debug, built
# when missing) on a fresh database, schemathesis for FUZZ_SECONDS (default 60) each.
fuzz:
	bash scripts/fuzz.sh

migrate:
	@if [[ -z $${DATABASE_URL:-} ]]; then
	  echo "make migrate: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/interviewer?sslmode=disable)" >&2
	  exit 1
	fi
	cargo run -p auth-service -- migrate

bench:
	scripts/bench.sh

bench-compare:
	scripts/bench.sh compare
