"""Every metric the Grafana dashboard and the alert rules name must be in
deploy/prometheus/metric-names.txt, the list of names the services export
(made from the metrics contract; a Rust test checks that list against what
the ingress and the workers really serve). Counters are listed with their
``_total``; histograms by their base name, so ``_bucket``, ``_sum`` and
``_count`` of a listed histogram are accepted.

usage: metric_names.py METRIC_NAMES_TXT DASHBOARD_JSON ALERTS_YML
"""

import re
import sys

from promql import alert_rules, dashboard_queries, known, listed_names, metric_names

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def main(names_txt, dashboard, alerts):
    errors = []
    listed = listed_names(names_txt)
    for n in listed:
        if not NAME.match(n):
            errors.append("%s: %r is not a metric name" % (names_txt, n))
    if len(set(listed)) != len(listed):
        errors.append("%s: a name is listed twice" % names_txt)
    listed = set(listed)

    used = {}
    _, queries = dashboard_queries(dashboard)
    for where, expr in queries:
        for n in metric_names(expr):
            used.setdefault(n, []).append("%s %s" % (dashboard, where))
    for _, rule in alert_rules(alerts):
        for n in metric_names(rule.get("expr", "")):
            used.setdefault(n, []).append("%s alert %s" % (alerts, rule.get("alert")))
    if not used:
        errors.append("no metric names found in %s or %s" % (dashboard, alerts))
    for n, where in sorted(used.items()):
        if not known(n, listed):
            errors.append("%s is not in %s (used by %s)" % (n, names_txt, "; ".join(where)))
    for e in errors:
        print("metric names: " + e, file=sys.stderr)
    if errors:
        return 1
    print("metric names: %d used by the dashboard and the alerts, all among the %d listed" % (len(used), len(listed)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*sys.argv[1:]))
