"""Project rules over the rendered manifests, beyond what the JSON schemas check.

Usage: checks.py ENV=APP.yaml:MIGRATE.yaml [ENV=...]
Prints one line per problem and exits 1 if there is any.
"""

import sys

import yaml

IMAGE_REPO = "ghcr.io/ai-interviewer/platform"
PART_OF = ("app.kubernetes.io/part-of", "ai-interviewer")
NAMESPACED = {
    "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Job", "NetworkPolicy",
    "PodDisruptionBudget", "Secret", "Service", "ServiceAccount",
}
HPA_AND_PDB = {"auth", "interview", "scoring"}
# The Secret template: one Secret per container; the keys only one container may hold.
SECRET_TEMPLATE = __import__("pathlib").Path(__file__).resolve().parents[2] / "deploy/base/secret.example.yaml"
EXCLUSIVE_KEYS = {"SECRET_KEY": "auth-secrets", "REDIS_URL": "auth-secrets",
                  "SMTP_URL": "auth-secrets", "AUDIT_CHAIN_KEY": "audit-writer-secrets"}

problems = []


def problem(env, obj, msg):
    problems.append(f"{env}: {obj['kind']}/{obj['metadata']['name']}: {msg}")


def load(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


def check_pod(env, obj, images):
    tmpl = obj["spec"]["template"]
    labels = tmpl.get("metadata", {}).get("labels", {})
    if labels.get(PART_OF[0]) != PART_OF[1]:
        problem(env, obj, f"pod template lacks {PART_OF[0]}={PART_OF[1]} (NetworkPolicies select on it)")
    spec = tmpl["spec"]
    psc = spec.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True or psc.get("runAsUser") != 10001:
        problem(env, obj, "pod securityContext must set runAsNonRoot: true, runAsUser: 10001")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problem(env, obj, "pod securityContext.seccompProfile must be RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        problem(env, obj, "automountServiceAccountToken must be false")
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        where = f"container {c['name']}"
        images.add(c["image"])
        if not c["image"].startswith(IMAGE_REPO + ":") and not c["image"].startswith(IMAGE_REPO + "@"):
            problem(env, obj, f"{where}: unexpected image {c['image']}")
        sc = c.get("securityContext", {})
        if sc.get("readOnlyRootFilesystem") is not True:
            problem(env, obj, f"{where}: readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False:
            problem(env, obj, f"{where}: allowPrivilegeEscalation must be false")
        if "ALL" not in sc.get("capabilities", {}).get("drop", []):
            problem(env, obj, f"{where}: capabilities.drop must contain ALL")
        if sc.get("runAsNonRoot") is not True:
            problem(env, obj, f"{where}: runAsNonRoot must be true")
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for r in ("cpu", "memory"):
                if r not in res.get(kind, {}):
                    problem(env, obj, f"{where}: resources.{kind}.{r} missing")
        if not c.get("command"):
            problem(env, obj, f"{where}: command (the binary) missing")


def check_app(env, docs):
    images = set()
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
        if d["kind"] in NAMESPACED and not d["metadata"].get("namespace"):
            problem(env, d, "no namespace")
        if d["metadata"].get("labels", {}).get(PART_OF[0]) != PART_OF[1]:
            problem(env, d, f"lacks label {PART_OF[0]}={PART_OF[1]}")
        if d["kind"] == "Secret":
            problem(env, d, "a Secret is rendered: the operator creates them (secret.example.yaml)")
    configmaps = set(by_kind.get("ConfigMap", {}))
    deployments = by_kind.get("Deployment", {})
    for name in ("auth", "interview", "scoring", "audit-writer"):
        if name not in deployments:
            problems.append(f"{env}: Deployment/{name} missing")
    for d in deployments.values():
        check_pod(env, d, images)
        tmpl = d["spec"]["template"]
        ann = tmpl["metadata"].get("annotations", {})
        c = tmpl["spec"]["containers"][0]
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/path") != "/metrics" \
                or ann.get("prometheus.io/port") != str(ports.get("http")):
            problem(env, d, "prometheus.io/scrape|port|path annotations wrong or missing")
        if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
            problem(env, d, "readinessProbe must be httpGet /readyz")
        if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
            problem(env, d, "livenessProbe must be httpGet /healthz")
        for src in c.get("envFrom", []):
            if "configMapRef" in src and src["configMapRef"]["name"] not in configmaps:
                problem(env, d, f"envFrom ConfigMap {src['configMapRef']['name']} is not rendered")
            own = f"{d['metadata']['name']}-secrets"
            if "secretRef" in src and src["secretRef"]["name"] != own:
                problem(env, d, f"envFrom Secret {src['secretRef']['name']} is not its own {own}")
        sel = d["spec"]["selector"]["matchLabels"]
        if any(tmpl["metadata"]["labels"].get(k) != v for k, v in sel.items()):
            problem(env, d, "selector does not match the pod template's labels")
    for s in by_kind.get("Service", {}).values():
        sel = s["spec"].get("selector", {})
        targets = [d for d in deployments.values()
                   if all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in sel.items())]
        if len(targets) != 1:
            problem(env, s, f"selector matches {len(targets)} Deployments, expected 1")
            continue
        names = {p.get("name") for p in targets[0]["spec"]["template"]["spec"]["containers"][0].get("ports", [])}
        for p in s["spec"]["ports"]:
            if isinstance(p.get("targetPort"), str) and p["targetPort"] not in names:
                problem(env, s, f"targetPort {p['targetPort']} is no container port name")
            if p["name"] == "grpc" and p.get("appProtocol") != "grpc":
                problem(env, s, "port grpc needs appProtocol: grpc")
    for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
        for o in by_kind.get(kind, {}).values():
            target = o["spec"]["scaleTargetRef"]["name"] if kind == "HorizontalPodAutoscaler" else o["metadata"]["name"]
            if target not in deployments:
                problem(env, o, f"targets missing Deployment {target}")
        if by_kind.get(kind) and set(by_kind[kind]) != HPA_AND_PDB:
            problems.append(f"{env}: {kind}s are {sorted(by_kind[kind])}, expected none or {sorted(HPA_AND_PDB)}")
    for h in by_kind.get("HorizontalPodAutoscaler", {}).values():
        dep = deployments.get(h["spec"]["scaleTargetRef"]["name"])
        if h["spec"].get("minReplicas", 1) > h["spec"]["maxReplicas"]:
            problem(env, h, "minReplicas > maxReplicas")
        if dep and dep["spec"].get("replicas", 1) < h["spec"].get("minReplicas", 1):
            problem(env, h, "the Deployment's replicas are below minReplicas (apply and HPA would fight)")
    return images


def check_migrate(env, docs):
    images = set()
    jobs = [d for d in docs if d["kind"] == "Job"]
    if len(jobs) != 1:
        problems.append(f"{env}/migrate: expected exactly one Job, got {len(jobs)}")
    for j in jobs:
        check_pod(env + "/migrate", j, images)
        cmd = j["spec"]["template"]["spec"]["containers"][0]["command"]
        if cmd != ["auth-service", "migrate"]:
            problem(env, j, f"command is {cmd}, expected auth-service migrate")
        for field in ("backoffLimit", "ttlSecondsAfterFinished"):
            if field not in j["spec"]:
                problem(env, j, f"{field} missing")
    return images


def check_secret_template():
    """One Secret per container in the template, and the keys that belong to one container
    in its Secret alone (SECRET_KEY and REDIS_URL reach auth only, AUDIT_CHAIN_KEY the
    audit-writer only)."""
    secrets = {d["metadata"]["name"]: d.get("stringData", {}) for d in load(SECRET_TEMPLATE)
               if d.get("kind") == "Secret"}
    wanted = {"auth-secrets", "interview-secrets", "scoring-secrets", "audit-writer-secrets",
              "migrate-secrets"}
    if set(secrets) != wanted:
        problems.append(f"secret.example.yaml: Secrets {sorted(secrets)}, expected {sorted(wanted)}")
    for key, owner in EXCLUSIVE_KEYS.items():
        holders = sorted(n for n, data in secrets.items() if key in data)
        if holders != [owner]:
            problems.append(f"secret.example.yaml: {key} is in {holders}, expected only {owner}")


def main(args):
    check_secret_template()
    for arg in args:
        env, _, paths = arg.partition("=")
        app, _, migrate = paths.partition(":")
        app_images = check_app(env, load(app))
        migrate_images = check_migrate(env, load(migrate))
        if len(app_images) != 1:
            problems.append(f"{env}: the Deployments use {len(app_images)} images: {sorted(app_images)}")
        if app_images != migrate_images:
            problems.append(f"{env}: the migration Job's image {sorted(migrate_images)} differs from the "
                            f"Deployments' {sorted(app_images)} (images: in overlays/{env} and overlays/{env}/migrate)")
        if env == "production" and any(i.endswith(":latest") for i in app_images | migrate_images):
            problems.append("production: image tag must be pinned, not latest")
    for p in problems:
        print(f"ERROR {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
