"""Checks of the Compose stack beyond `docker compose config` (which
deploy/check runs first and whose JSON output this reads), and of the
Dockerfile targets it builds:

- the services the stack promises are there: RabbitMQ 3.13 with
  rabbitmq_prometheus enabled, Redis with AOF (appendfsync everysec) on a
  volume, the ingress, three workers, the seeded simulator, Prometheus with
  the rules, Grafana with the provisioning and the dashboard;
- every depends_on waits for service_healthy, on a service that has a
  healthcheck (its own, or its Dockerfile target's HEALTHCHECK);
- every bind-mounted file exists;
- Prometheus scrapes each bridge service on the port its address variable
  gives;
- each Dockerfile target (ingress, worker, simulator) has a HEALTHCHECK
  through deploy/docker/probe, EXPOSEs its port, and runs as uid 10001.

usage: compose.py COMPOSE_CONFIG_JSON DOCKERFILE PROMETHEUS_YML
"""

import json
import os
import re
import sys

import yaml


def dockerfile_stages(path):
    """stage name -> (parent, [instructions]) with continuation lines joined."""
    stages = {}
    current = None
    with open(path) as f:
        text = re.sub(r"\\\n\s*", " ", f.read())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if m:
            current = m.group(2) or m.group(1)
            stages[current] = (m.group(1), [])
            continue
        if current:
            stages[current][1].append(line)
    return stages


def inherited(stages, name, keyword):
    """The last `keyword` instruction of a stage, looking through its parents."""
    while name in stages:
        parent, lines = stages[name]
        found = [l for l in lines if l.upper().startswith(keyword + " ")]
        if found:
            return found[-1]
        name = parent
    return None


def main(config_json, dockerfile, prometheus_yml):
    errors = []
    with open(config_json) as f:
        cfg = json.load(f)
    services = cfg.get("services", {})
    stages = dockerfile_stages(dockerfile)

    targets = {"ingress": ("INGRESS_ADDR", "/healthz"), "worker": ("METRICS_ADDR", "/healthz"),
               "simulator": ("FSSIM_ADDR", "/_sim/health")}
    ports = {}
    for target, (var, path) in targets.items():
        if target not in stages:
            errors.append("%s: no target %s" % (dockerfile, target))
            continue
        hc = inherited(stages, target, "HEALTHCHECK") or ""
        if not re.search(r'"probe",\s*"%s",\s*"%s"' % (var, re.escape(path)), hc):
            errors.append("%s: target %s has no HEALTHCHECK probing %s %s" % (dockerfile, target, var, path))
        env = " ".join(l for l in stages[target][1] if l.upper().startswith("ENV "))
        m = re.search(r"%s=\S*:(\d+)" % var, env)
        if not m:
            errors.append("%s: target %s sets no %s default" % (dockerfile, target, var))
            continue
        ports[target] = m.group(1)
        expose = inherited(stages, target, "EXPOSE") or ""
        if m.group(1) not in expose.split():
            errors.append("%s: target %s does not EXPOSE %s" % (dockerfile, target, m.group(1)))
        user = inherited(stages, target, "USER") or ""
        if not user.split()[1:] or not user.split()[1].startswith("10001"):
            errors.append("%s: target %s does not run as uid 10001 (%r)" % (dockerfile, target, user))

    for name in ("rabbitmq", "redis", "ingress", "worker", "simulator", "prometheus", "grafana", "demo-tenant"):
        if name not in services:
            errors.append("compose: no service %s" % name)
    if errors:
        return report(errors)

    def healthy(name):
        s = services[name]
        if s.get("healthcheck", {}).get("test") and not s["healthcheck"].get("disable"):
            return True
        target = (s.get("build") or {}).get("target")
        return bool(target and inherited(stages, target, "HEALTHCHECK"))

    for name, s in services.items():
        for dep, how in (s.get("depends_on") or {}).items():
            if how.get("condition") != "service_healthy":
                errors.append("compose: %s waits for %s to be %s, not service_healthy" % (name, dep, how.get("condition")))
            elif not healthy(dep):
                errors.append("compose: %s waits for %s to be healthy, which has no healthcheck" % (name, dep))
        for v in s.get("volumes", []):
            if v.get("type") == "bind" and not os.path.exists(v["source"]):
                errors.append("compose: %s mounts %s, which does not exist" % (name, v["source"]))
        if name in targets and (s.get("build") or {}).get("target") != name:
            errors.append("compose: %s is not built from the Dockerfile target %s" % (name, name))

    rabbit = services["rabbitmq"]
    if not rabbit.get("image", "").startswith("rabbitmq:3.13"):
        errors.append("compose: rabbitmq image %r is not 3.13" % rabbit.get("image"))
    plugins = [v["source"] for v in rabbit.get("volumes", []) if v.get("target") == "/etc/rabbitmq/enabled_plugins"]
    if not plugins or "rabbitmq_prometheus" not in open(plugins[0]).read():
        errors.append("compose: rabbitmq does not enable rabbitmq_prometheus")
    redis = services["redis"]
    cmd = " ".join(redis.get("command") or [])
    for flag in ("--appendonly yes", "--appendfsync everysec"):
        if flag not in cmd:
            errors.append("compose: redis runs without %s" % flag)
    if not any(v.get("target") == "/data" and v.get("type") == "volume" for v in redis.get("volumes", [])):
        errors.append("compose: redis keeps /data on no volume")
    if (services["worker"].get("deploy") or {}).get("replicas") != 3:
        errors.append("compose: worker does not run 3 replicas")
    if "--seed" not in (services["simulator"].get("command") or []):
        errors.append("compose: the simulator is not seeded")
    grafana_targets = {v.get("target") for v in services["grafana"].get("volumes", [])}
    for t in ("/etc/grafana/provisioning", "/etc/grafana/dashboards"):
        if t not in grafana_targets:
            errors.append("compose: grafana does not mount %s" % t)

    with open(prometheus_yml) as f:
        prom = yaml.safe_load(f)
    scraped = set()
    for job in prom.get("scrape_configs", []):
        for sc in job.get("static_configs", []):
            scraped.update(sc.get("targets", []))
        for dc in job.get("dns_sd_configs", []):
            scraped.update("%s:%s" % (n, dc.get("port")) for n in dc.get("names", []))
    for name, var in (("ingress", "INGRESS_ADDR"), ("worker", "METRICS_ADDR")):
        addr = services[name].get("environment", {}).get(var) or "x:" + ports.get(name, "?")
        want = "%s:%s" % (name, addr.rsplit(":", 1)[1])
        if want not in scraped:
            errors.append("%s: does not scrape %s (%s=%s)" % (prometheus_yml, want, var, addr))
    if "rabbitmq:15692" not in scraped:
        errors.append("%s: does not scrape rabbitmq:15692" % prometheus_yml)
    return report(errors, len(services))


def report(errors, n=0):
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        return 1
    print("compose: %d services consistent with the Dockerfile targets and Prometheus" % n)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
