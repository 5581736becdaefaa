#!/usr/bin/env bash
# Validate docker-compose.yml against the Compose Specification JSON schema, with no
# Docker engine and no network beyond PyPI.
#
#   scripts/validate-compose.sh [COMPOSE_FILE] [--env-file FILE]
#
# Defaults: docker-compose.yml, with .env.example standing in for .env (the ${...}
# substitutions are resolved from it, as `docker compose --env-file .env.example config`
# would). Exits 0 when the file is valid, 1 with one line per problem otherwise.
#
# Tool: check-jsonschema from PyPI, pinned below. It vendors the Compose Specification
# schema (compose-spec/compose-spec, schema/compose-spec.json, JSON Schema 2020-12) and
# pins jsonschema and ruamel.yaml. It is installed once into a venv under
# target/compose-validate/ (git-ignored with the rest of target/); a version change
# reinstalls it. Two passes:
#   1. `check-jsonschema --builtin-schema vendor.compose-spec`: the file as written.
#   2. scripts/compose/validate.py: interpolation from the env file, the schema again on
#      the interpolated document, and references the schema cannot see (depends_on
#      targets and conditions, named volumes); see that file's docstring.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CHECK_JSONSCHEMA_VERSION=0.39.0
CACHE_DIR="${COMPOSE_VALIDATE_CACHE:-$ROOT/target/compose-validate}"
VENV="$CACHE_DIR/venv"
STAMP="$VENV/.installed-check-jsonschema-$CHECK_JSONSCHEMA_VERSION"

compose_file=""
env_file="$ROOT/.env.example"
while (($#)); do
    case "$1" in
        --env-file)
            [[ $# -ge 2 ]] || { echo "validate-compose: --env-file needs a path" >&2; exit 2; }
            env_file=$2
            shift 2
            ;;
        --env-file=*) env_file=${1#--env-file=}; shift ;;
        -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "validate-compose: unknown option $1" >&2; exit 2 ;;
        *)
            [[ -z $compose_file ]] || { echo "validate-compose: one compose file at a time" >&2; exit 2; }
            compose_file=$1
            shift
            ;;
    esac
done
compose_file=${compose_file:-$ROOT/docker-compose.yml}

for f in "$compose_file" "$env_file"; do
    [[ -f $f ]] || { echo "validate-compose: no such file: $f" >&2; exit 2; }
done

# --- the validator, installed once -----------------------------------------------------------
if [[ ! -f $STAMP || ! -x $VENV/bin/python ]]; then
    python=$(command -v python3 || true)
    [[ -n $python ]] || { echo "validate-compose: python3 is required" >&2; exit 2; }
    echo "validate-compose: installing check-jsonschema $CHECK_JSONSCHEMA_VERSION into $VENV" >&2
    rm -rf "$VENV"
    mkdir -p "$CACHE_DIR"
    if ! "$python" -m venv "$VENV" >&2; then
        echo "validate-compose: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2
        exit 2
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" >&2
    touch "$STAMP"
fi

# --- 1: the file as written, with check-jsonschema's own CLI ----------------------------------
echo "== check-jsonschema $CHECK_JSONSCHEMA_VERSION --builtin-schema vendor.compose-spec"
status=0
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$compose_file" || status=1

# --- 2: interpolation, the interpolated document, references ---------------------------------
echo "== interpolation with $(basename "$env_file"), schema again, references"
"$VENV/bin/python" "$ROOT/scripts/compose/validate.py" "$compose_file" --env-file "$env_file" ||
    status=1

# --- 3 (where a Docker engine's CLI is installed): Compose's own parser ---------------------
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    echo "== docker compose config (Compose's own loader)"
    if docker compose -f "$compose_file" --env-file "$env_file" config --quiet; then
        echo "ok -- docker compose config"
    else
        status=1
    fi
fi

if ((status != 0)); then
    echo "validate-compose: $compose_file does NOT conform to the Compose Specification (see above)" >&2
else
    echo "validate-compose: $compose_file conforms to the Compose Specification"
fi
exit "$status"
