"""Checks of the alert rules and the Grafana dashboard that promtool does
not make, and the inputs for the promtool runs deploy/check makes:

- every rule of deploy/prometheus/alerts.yml is in group
  ``freshservice-bridge``, has a ``for:``, a ``severity`` of warning or
  critical, and ``summary``, ``description`` and a ``runbook_url`` into
  docs/operations.md; the rules are exactly the alerts the metrics contract
  names;
- the dashboard is valid JSON with unique panel ids, and every query's
  datasource is the provisioned Prometheus (by uid);
- writes OUTDIR/dashboard-rules.yml (each dashboard query as a recording
  rule, Grafana's variables replaced, so `promtool check rules` parses
  every query) and OUTDIR/alerts.yml + OUTDIR/alerts.test.yml (the rules
  without annotations, which promtool's unit tests would otherwise have to
  repeat word for word, and the tests).

usage: monitoring.py ALERTS_YML ALERTS_TEST_YML DASHBOARD_JSON DATASOURCES_YML OUTDIR
"""

import os
import shutil
import sys

import yaml

from promql import alert_rules, dashboard_queries, grafana_to_promql

EXPECTED_ALERTS = {
    "BridgeQueueDepthRising",
    "BridgeOldestChangeTooOld",
    "BridgeTenantQueueNoConsumer",
    "BridgeDeadLetters",
    "BridgeFreshservice429",
    "BridgeTenantCredentialsRejected",
    "BridgeIngress5xx",
    "BridgeIngress503",
}


def check_alerts(path, errors):
    names = []
    for group, rule in alert_rules(path):
        name = rule.get("alert")
        where = "%s: %s" % (path, name or rule.get("record"))
        if group != "freshservice-bridge":
            errors.append("%s: group %r, expected freshservice-bridge" % (where, group))
        if not name:
            errors.append("%s: not an alerting rule" % where)
            continue
        names.append(name)
        if "for" not in rule:
            errors.append("%s: no `for:`" % where)
        sev = (rule.get("labels") or {}).get("severity")
        if sev not in ("warning", "critical"):
            errors.append("%s: severity %r, expected warning or critical" % (where, sev))
        ann = rule.get("annotations") or {}
        for key in ("summary", "description"):
            if not str(ann.get(key, "")).strip():
                errors.append("%s: no %s annotation" % (where, key))
        runbook = str(ann.get("runbook_url", ""))
        if runbook != "docs/operations.md#" + name.lower():
            errors.append("%s: runbook_url %r, expected docs/operations.md#%s" % (where, runbook, name.lower()))
    if len(set(names)) != len(names):
        errors.append("%s: an alert name is used twice" % path)
    if set(names) != EXPECTED_ALERTS:
        errors.append("%s: alerts %s missing, %s unexpected" % (
            path, sorted(EXPECTED_ALERTS - set(names)), sorted(set(names) - EXPECTED_ALERTS)))


def check_dashboard(path, datasources, errors):
    dash, queries = dashboard_queries(path)
    with open(datasources) as f:
        uids = {d.get("uid") for d in yaml.safe_load(f).get("datasources", [])}
    ids = []

    def walk(panels):
        for p in panels:
            ids.append(p.get("id"))
            if p.get("type") != "row":
                for key in ("title", "gridPos", "type"):
                    if not p.get(key):
                        errors.append("%s: panel %r has no %s" % (path, p.get("id"), key))
                for t in [p] + p.get("targets", []):
                    ds = t.get("datasource")
                    if ds is not None and (not isinstance(ds, dict) or ds.get("uid") not in uids):
                        errors.append("%s: panel %r uses datasource %r, not one of %s (%s)" % (
                            path, p.get("title"), ds, sorted(uids), datasources))
            walk(p.get("panels", []))

    walk(dash.get("panels", []))
    if None in ids or len(set(ids)) != len(ids):
        errors.append("%s: panel ids missing or not unique" % path)
    if not dash.get("uid"):
        errors.append("%s: no dashboard uid" % path)
    if not queries:
        errors.append("%s: no queries" % path)
    return queries


def main(alerts, alerts_test, dashboard, datasources, outdir):
    errors = []
    check_alerts(alerts, errors)
    queries = check_dashboard(dashboard, datasources, errors)
    os.makedirs(outdir, exist_ok=True)
    rules = [{"record": "dashboard:query_%d" % i, "expr": grafana_to_promql(expr)}
             for i, (_, expr) in enumerate(queries)]
    with open(os.path.join(outdir, "dashboard-rules.yml"), "w") as f:
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)
    with open(alerts) as f:
        doc = yaml.safe_load(f)
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    with open(os.path.join(outdir, "alerts.yml"), "w") as f:
        yaml.safe_dump(doc, f)
    shutil.copy(alerts_test, os.path.join(outdir, "alerts.test.yml"))
    for e in errors:
        print("monitoring: " + e, file=sys.stderr)
    if errors:
        return 1
    print("monitoring: %d alert rules and %d dashboard queries well formed" % (len(EXPECTED_ALERTS), len(queries)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
