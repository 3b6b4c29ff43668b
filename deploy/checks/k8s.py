"""Validates the rendered Kubernetes manifests (`kubectl kustomize` of the
base and of each overlay) and the Secret template.

- Kubernetes' own kinds against the API's JSON schemas, strictly (unknown
  fields are errors), for the oldest and the newest Kubernetes version
  that the kubernetes-validate package (PyPI) carries schemas for here.
- KEDA's ScaledObject and TriggerAuthentication against the KEDA CRD
  models of the cloudcoil-models-keda package (PyPI, generated from KEDA's
  CRD schemas): types checked by pydantic, and unknown fields refused by a
  walk over the models (pydantic alone would ignore a misspelt field).
- What ties the manifests to the code: the trigger's queue regex selects
  `<BRIDGE_QUEUE_PREFIX>.changes.<tenant>` (shared/src/queue/topology.rs)
  and none of the wait or dead-letter queues; the references between
  objects (scale target, TriggerAuthentication, Secrets, ConfigMap)
  resolve; the worker's terminationGracePeriodSeconds exceeds its
  SHUTDOWN_GRACE_MS; pods run as non-root with a read-only root filesystem
  and no capabilities; probes point at /readyz and /healthz; no Secret is
  rendered (they are created by hand).

usage: k8s.py SECRETS_EXAMPLE_YAML RENDERED_YAML...
"""

import re
import sys
import typing
import uuid

import kubernetes_validate
import pydantic
import yaml
from cloudcoil.models.keda import v1alpha1 as keda

KEDA_MODELS = {
    "ScaledObject": keda.ScaledObject,
    "TriggerAuthentication": keda.TriggerAuthentication,
}


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def versions():
    vs = kubernetes_validate.utils.all_versions()
    return sorted({vs[0], vs[-1]}, key=lambda v: [int(x) for x in v.split(".")])


def unwrap(annotation):
    """The pydantic models an annotation may hold (through Optional, List,
    Dict, Annotated, Union)."""
    origin = typing.get_origin(annotation)
    if origin is None:
        if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
            return [("one", annotation)]
        return []
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return unwrap(args[0])
    if origin in (list, typing.List):
        return [("list", m) for _, m in unwrap(args[0])]
    if origin in (dict, typing.Dict):
        return [("dict", m) for _, m in unwrap(args[1])]
    out = []
    for a in args:
        out.extend(unwrap(a))
    return out


def unknown_fields(model, data, path, errors):
    if not isinstance(data, dict):
        return
    fields = {}
    for name, f in model.model_fields.items():
        fields[f.alias or name] = f
    for key, value in data.items():
        f = fields.get(key)
        if f is None:
            errors.append("%s: unknown field %r (known: %s)" % (path, key, ", ".join(sorted(fields))))
            continue
        for how, sub in unwrap(f.annotation):
            if how == "one":
                unknown_fields(sub, value, "%s.%s" % (path, key), errors)
            elif how == "list" and isinstance(value, list):
                for i, v in enumerate(value):
                    unknown_fields(sub, v, "%s.%s[%d]" % (path, key, i), errors)
            elif how == "dict" and isinstance(value, dict):
                for k, v in value.items():
                    unknown_fields(sub, v, "%s.%s.%s" % (path, key, k), errors)


def name_of(doc):
    return "%s/%s" % (doc.get("kind"), (doc.get("metadata") or {}).get("name"))


def check_pod(where, dep, errors):
    spec = dep["spec"]["template"]["spec"]
    psc = spec.get("securityContext") or {}
    if psc.get("runAsNonRoot") is not True:
        errors.append("%s: pod securityContext.runAsNonRoot is not true" % where)
    if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        errors.append("%s: pod seccompProfile is not RuntimeDefault" % where)
    for c in spec.get("containers", []):
        sc = c.get("securityContext") or {}
        cw = "%s container %s" % (where, c.get("name"))
        if sc.get("readOnlyRootFilesystem") is not True:
            errors.append("%s: readOnlyRootFilesystem is not true" % cw)
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append("%s: allowPrivilegeEscalation is not false" % cw)
        if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
            errors.append("%s: capabilities.drop is not [ALL]" % cw)
        if not (c.get("resources") or {}).get("requests"):
            errors.append("%s: no resource requests" % cw)
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            got = ((c.get(probe) or {}).get("httpGet") or {}).get("path")
            if got != path:
                errors.append("%s: %s path %r, expected %s" % (cw, probe, got, path))


def check_render(path, secrets, errors):
    docs = load(path)
    by = {}
    for d in docs:
        by.setdefault(d.get("kind"), {})[(d.get("metadata") or {}).get("name")] = d
    for v in versions():
        for d in docs:
            if d.get("apiVersion", "").startswith("keda.sh/"):
                continue
            try:
                kubernetes_validate.validate(d, v, strict=True)
            except kubernetes_validate.ValidationError as e:
                errors.append("%s: %s (Kubernetes %s): %s at %s" % (
                    path, name_of(d), v, e.message, "/".join(str(p) for p in e.path)))
            except kubernetes_validate.SchemaNotFoundError as e:
                errors.append("%s: %s: %s" % (path, name_of(d), e.message))
    for d in docs:
        model = KEDA_MODELS.get(d.get("kind"))
        if d.get("apiVersion", "").startswith("keda.sh/"):
            if model is None:
                errors.append("%s: %s: no KEDA model to check it against" % (path, name_of(d)))
                continue
            try:
                model.model_validate(d)
            except pydantic.ValidationError as e:
                errors.append("%s: %s: %s" % (path, name_of(d), e))
            unknown_fields(model, d, "%s: %s" % (path, name_of(d)), errors)

    if "Secret" in by:
        errors.append("%s: renders Secrets %s; Secrets are created by hand (secrets.example.yaml)" % (
            path, sorted(by["Secret"])))
    config = next(iter(by.get("ConfigMap", {}).values()), {}).get("data", {})
    deps = by.get("Deployment", {})
    for name in ("ingress", "worker"):
        if name not in deps:
            errors.append("%s: no Deployment %s" % (path, name))
    for name, dep in deps.items():
        where = "%s: Deployment/%s" % (path, name)
        check_pod(where, dep, errors)
        for c in dep["spec"]["template"]["spec"]["containers"]:
            for src in c.get("envFrom", []):
                if "configMapRef" in src and src["configMapRef"]["name"] not in by.get("ConfigMap", {}):
                    errors.append("%s: ConfigMap %s is not rendered" % (where, src["configMapRef"]["name"]))
                if "secretRef" in src and src["secretRef"]["name"] not in secrets:
                    errors.append("%s: Secret %s is not in the Secret template" % (where, src["secretRef"]["name"]))
    if "ingress" in deps and deps["ingress"]["spec"].get("replicas", 1) < 2:
        errors.append("%s: the ingress has fewer than 2 replicas" % path)
    pdb_selectors = [p["spec"]["selector"]["matchLabels"] for p in by.get("PodDisruptionBudget", {}).values()]
    for name, dep in deps.items():
        labels = dep["spec"]["template"]["metadata"]["labels"]
        if not any(all(labels.get(k) == v for k, v in sel.items()) for sel in pdb_selectors):
            errors.append("%s: no PodDisruptionBudget selects Deployment/%s" % (path, name))
    if "worker" in deps:
        grace_ms = int(config.get("SHUTDOWN_GRACE_MS", "20000"))
        tgps = deps["worker"]["spec"]["template"]["spec"].get("terminationGracePeriodSeconds", 30)
        if tgps * 1000 <= grace_ms:
            errors.append("%s: worker terminationGracePeriodSeconds %s does not exceed SHUTDOWN_GRACE_MS %s" % (
                path, tgps, grace_ms))

    auths = by.get("TriggerAuthentication", {})
    for name, ta in auths.items():
        for ref in ta["spec"].get("secretTargetRef", []):
            if ref["key"] not in secrets.get(ref["name"], {}):
                errors.append("%s: TriggerAuthentication/%s needs key %s of Secret %s, not in the template" % (
                    path, name, ref["key"], ref["name"]))
    objs = by.get("ScaledObject", {})
    if not objs:
        errors.append("%s: no ScaledObject" % path)
    prefix = config.get("BRIDGE_QUEUE_PREFIX", "fsb")
    for name, so in objs.items():
        where = "%s: ScaledObject/%s" % (path, name)
        spec = so["spec"]
        target = spec["scaleTargetRef"]
        if target.get("kind", "Deployment") != "Deployment" or target["name"] not in deps:
            errors.append("%s: scale target %s is not a rendered Deployment" % (where, target))
        lo, hi = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
        if not 1 <= lo <= hi:
            errors.append("%s: replicas %s..%s" % (where, lo, hi))
        for t in spec["triggers"]:
            md = t.get("metadata", {})
            if t.get("type") != "rabbitmq":
                errors.append("%s: trigger type %r" % (where, t.get("type")))
                continue
            want = {"protocol": "http", "mode": "QueueLength", "useRegex": "true", "operation": "sum"}
            for k, v in want.items():
                if md.get(k) != v:
                    errors.append("%s: trigger %s is %r, expected %r" % (where, k, md.get(k), v))
            try:
                if float(md.get("value", "")) <= 0:
                    raise ValueError
            except ValueError:
                errors.append("%s: trigger value %r is not a positive number" % (where, md.get("value")))
            ref = (t.get("authenticationRef") or {}).get("name")
            if ref not in auths:
                errors.append("%s: authenticationRef %r is not a rendered TriggerAuthentication" % (where, ref))
            try:
                rx = re.compile(md.get("queueName", ""))
            except re.error as e:
                errors.append("%s: queueName is not a regex: %s" % (where, e))
                continue
            tenant = uuid.uuid4().hex
            for q in ("%s.changes.%s" % (prefix, tenant), "%s.changes.t_ab12" % prefix):
                if not rx.search(q):
                    errors.append("%s: queueName %r does not select tenant queue %s" % (where, rx.pattern, q))
            others = ["%s.changes" % prefix, "%s.dead" % prefix, "other.changes.%s" % tenant] + [
                "%s.wait.%ss" % (prefix, s) for s in (1, 5, 30, 120, 600)]
            for q in others:
                if rx.search(q):
                    errors.append("%s: queueName %r also selects %s" % (where, rx.pattern, q))
    return len(docs)


def main(secrets_path, *rendered):
    errors = []
    secrets = {}
    templates = load(secrets_path)
    for d in templates:
        if d.get("kind") != "Secret":
            errors.append("%s: %s is not a Secret" % (secrets_path, name_of(d)))
            continue
        for v in versions():
            try:
                kubernetes_validate.validate(d, v, strict=True)
            except kubernetes_validate.ValidationError as e:
                errors.append("%s: %s: %s" % (secrets_path, name_of(d), e.message))
        data = d.get("stringData") or {}
        secrets[d["metadata"]["name"]] = data
        for k, v in data.items():
            if k.lower() in ("password", "bridge_master_key") and "REPLACE" not in str(v):
                errors.append("%s: %s.%s holds a value, not a placeholder" % (secrets_path, name_of(d), k))
    counts = [check_render(p, secrets, errors) for p in rendered]
    for e in errors:
        print("k8s: " + e, file=sys.stderr)
    if errors:
        return 1
    print("k8s: %s objects valid against Kubernetes %s and KEDA's CRD models; Secret template valid" % (
        " + ".join(map(str, counts)), " and ".join(versions())))
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
