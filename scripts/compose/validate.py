"""Validate a Compose file against the Compose Specification JSON schema, offline.

Run by scripts/validate-compose.sh inside its venv (check-jsonschema, which pins
jsonschema and ruamel.yaml and vendors the compose-spec schema). Checks, in order:

1. YAML: parses (anchors and `<<` merge keys resolved, duplicate keys refused).
2. Schema, as written: the document with its ${...} left in place.
3. Interpolation: every ${VAR} resolves from the env file (the stand-in for `.env`):
   a variable that is neither set there nor defaulted, or a `:?`/`?` one that is unset,
   is an error; so is a variable referenced here but not documented in the env file, and
   a key of the env file that this file never uses.
4. Schema, after interpolation: what Docker Compose itself validates.
5. References the schema cannot see: depends_on targets exist, `service_healthy` targets
   have a healthcheck, `service_completed_successfully` targets are not restarted, named
   volumes are declared, every service has an image or a build.

Exit status 0 when all pass, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

SCHEMA_PACKAGE = "check_jsonschema.builtin_schemas.vendor"
SCHEMA_FILE = "compose-spec.json"


def load_schema() -> tuple[dict[str, Any], str]:
    raw = resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_FILE).read_bytes()
    return json.loads(raw), hashlib.sha256(raw).hexdigest()


# --- the env file (Compose's dotenv rules, the parts a plain KEY=value file uses) --------

ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def parse_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = ENV_LINE.match(line)
        if not m:
            raise SystemExit(f"{path}:{number}: not a KEY=value line: {line!r}")
        key, value = m.group(1), m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            # An unquoted value ends at ' #' (an inline comment).
            value = re.split(r"\s+#", value, maxsplit=1)[0].rstrip()
        if key in values:
            raise SystemExit(f"{path}:{number}: {key} is set twice")
        values[key] = value
    return values


# --- interpolation (Compose's ${...} syntax) ----------------------------------------------

NAME = r"[A-Za-z_][A-Za-z0-9_]*"


class Interpolator:
    def __init__(self, env: dict[str, str]):
        self.env = env
        self.errors: list[str] = []
        self.referenced: set[str] = set()

    def string(self, text: str, where: str) -> str:
        out: list[str] = []
        i = 0
        while i < len(text):
            c = text[i]
            if c != "$":
                out.append(c)
                i += 1
                continue
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt == "$":
                out.append("$")
                i += 2
            elif nxt == "{":
                end = self._closing_brace(text, i + 2)
                if end < 0:
                    self.errors.append(f"{where}: unterminated ${{ in {text!r}")
                    return "".join(out)
                out.append(self._braced(text[i + 2 : end], where))
                i = end + 1
            else:
                m = re.match(NAME, text[i + 1 :])
                if not m:
                    self.errors.append(
                        f"{where}: a lone '$' in {text!r} (write $$ for a literal $)"
                    )
                    out.append("$")
                    i += 1
                    continue
                out.append(self._lookup(m.group(0), None, None, where))
                i += 1 + len(m.group(0))
        return "".join(out)

    @staticmethod
    def _closing_brace(text: str, start: int) -> int:
        depth = 1
        i = start
        while i < len(text):
            if text.startswith("${", i):
                depth += 1
                i += 2
                continue
            if text[i] == "}":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        return -1

    def _braced(self, body: str, where: str) -> str:
        m = re.match(rf"^({NAME})(?:(:?[-?+])(.*))?$", body, re.S)
        if not m:
            self.errors.append(f"{where}: invalid substitution ${{{body}}}")
            return ""
        return self._lookup(m.group(1), m.group(2), m.group(3), where)

    def _lookup(self, name: str, op: str | None, arg: str | None, where: str) -> str:
        self.referenced.add(name)
        value = self.env.get(name)
        empty_counts = op is not None and op.startswith(":")
        unset = value is None or (empty_counts and value == "")
        if op is None:
            if value is None:
                self.errors.append(
                    f"{where}: ${name} is not set in the env file and has no default"
                )
                return ""
            return value
        kind = op[-1]
        if kind == "-":
            return self.string(arg or "", where) if unset else value  # type: ignore[return-value]
        if kind == "?":
            if unset:
                self.errors.append(f"{where}: ${name} is required: {arg}")
                return ""
            return value  # type: ignore[return-value]
        # "+": the alternative when set.
        return "" if unset else self.string(arg or "", where)

    def walk(self, node: Any, path: str) -> Any:
        if isinstance(node, dict):
            return {k: self.walk(v, f"{path}/{k}" if path else str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [self.walk(v, f"{path}/{i}") for i, v in enumerate(node)]
        if isinstance(node, str):
            return self.string(node, path)
        return node


# --- schema -----------------------------------------------------------------------------


def schema_errors(validator: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    errors = []
    for err in validator.iter_errors(doc):
        # oneOf/anyOf failures: report the most specific cause.
        best = jsonschema.exceptions.best_match([err]) if err.context else err
        errors.append((tuple(str(p) for p in best.absolute_path), best))
    found = []
    for path, err in sorted(errors, key=lambda e: e[0]):
        # A failing property makes its object report every merged-in key as
        # "unevaluated" (2020-12 unevaluatedProperties); the deeper error is the one to read.
        if err.validator == "unevaluatedProperties" and any(
            len(p) > len(path) and p[: len(path)] == path for p, _ in errors
        ):
            continue
        found.append(f"{'/'.join(path) or '(top level)'}: {err.message}")
    return found


# --- references the schema cannot see ----------------------------------------------------


def reference_errors(doc: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    services: dict[str, Any] = doc.get("services") or {}
    volumes: dict[str, Any] = doc.get("volumes") or {}
    for name, svc in services.items():
        svc = svc or {}
        if "image" not in svc and "build" not in svc:
            errors.append(f"services/{name}: needs an image or a build")
        deps = svc.get("depends_on") or {}
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        for dep, spec in deps.items():
            target = services.get(dep)
            if target is None:
                errors.append(f"services/{name}/depends_on: no service named {dep!r}")
                continue
            condition = (spec or {}).get("condition", "service_started")
            hc = (target or {}).get("healthcheck") or {}
            if condition == "service_healthy" and (not hc or hc.get("disable") in (True, "true")):
                errors.append(
                    f"services/{name}/depends_on/{dep}: service_healthy, but {dep} has no healthcheck"
                )
            restart = str((target or {}).get("restart", "no"))
            if condition == "service_completed_successfully" and not (
                restart == "no" or restart.startswith("on-failure")
            ):
                errors.append(
                    f"services/{name}/depends_on/{dep}: service_completed_successfully, "
                    f"but {dep} has restart: {restart} and so never completes"
                )
        for i, vol in enumerate(svc.get("volumes") or []):
            if isinstance(vol, str):
                source = vol.split(":", 1)[0] if ":" in vol else None
            elif (vol or {}).get("type", "volume") == "volume":
                source = (vol or {}).get("source")
            else:
                source = None
            if source and not source.startswith((".", "/", "~", "$")) and source not in volumes:
                errors.append(
                    f"services/{name}/volumes[{i}]: named volume {source!r} is not declared "
                    "under the top-level volumes"
                )
    return errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("compose_file", type=Path)
    ap.add_argument("--env-file", type=Path, required=True)
    args = ap.parse_args()

    schema, digest = load_schema()
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    print(
        f"schema: compose-spec.json vendored by check-jsonschema "
        f"({validator_cls.__name__}, sha256 {digest[:16]}...)"
    )

    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        doc = yaml.load(args.compose_file.read_text(encoding="utf-8"))
    except YAMLError as e:
        print(f"FAIL {args.compose_file}: not valid YAML:\n{e}", file=sys.stderr)
        return 1
    if not isinstance(doc, dict):
        print(f"FAIL {args.compose_file}: the top level must be a mapping", file=sys.stderr)
        return 1
    # Round-trip through JSON: plain dicts/lists/str/int/bool, as the schema expects.
    doc = json.loads(json.dumps(doc, default=str))
    env = parse_env_file(args.env_file)

    failed = False

    def report(step: str, errors: list[str]) -> None:
        nonlocal failed
        if errors:
            failed = True
            print(f"FAIL {step}:")
            for e in errors:
                print(f"  - {e}")
        else:
            print(f"ok   {step}")

    report("schema (as written)", schema_errors(validator, doc))

    interp = Interpolator(env)
    resolved = interp.walk(doc, "")
    undocumented = sorted(interp.referenced - env.keys())
    unused = sorted(env.keys() - interp.referenced)
    report(
        f"interpolation from {args.env_file}",
        sorted(set(interp.errors))
        + [f"${v} is used but not documented in {args.env_file}" for v in undocumented]
        + [f"{k} is set in {args.env_file} but never used by {args.compose_file}" for k in unused],
    )
    report("schema (after interpolation)", schema_errors(validator, resolved))
    report("references (depends_on, volumes, images)", reference_errors(resolved))

    services = sorted((resolved.get("services") or {}).keys())
    if failed:
        print(f"{args.compose_file}: INVALID")
        return 1
    print(f"{args.compose_file}: valid ({len(services)} services: {', '.join(services)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
