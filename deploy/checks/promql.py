"""Shared helpers of the deploy checks (deploy/check): PromQL expressions
of the dashboard and the alert rules, and the metric names they use.

The extraction is lexical: string literals, label matchers ``{...}``, range
selectors ``[...]`` and the label lists of ``by``/``without``/``on``/
``ignoring``/``group_left``/``group_right`` are removed, then every
remaining identifier that is not a function or a keyword is a metric name.
"""

import json
import re

import yaml

KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
    "group_right", "bool", "offset", "inf", "nan", "atan2",
}
LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
MATCHERS = re.compile(r"\{[^}]*\}")
RANGES = re.compile(r"\[[^\]]*\]")
IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

# Grafana's variables, replaced by something PromQL parses.
GRAFANA_VARS = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "$tenant": ".*",
}


def metric_names(expr):
    """Metric names an expression selects."""
    s = STRINGS.sub('""', expr)
    s = MATCHERS.sub("", s)
    s = RANGES.sub("", s)
    s = LABEL_LISTS.sub(" ", s)
    names = set()
    for m in IDENT.finditer(s):
        word = m.group(0)
        rest = s[m.end():].lstrip()
        if rest.startswith("("):  # a function call
            continue
        if word.lower() in KEYWORDS:
            continue
        if re.fullmatch(r"[0-9]*[smhdwy]", word):  # durations after offset
            continue
        names.add(word)
    return names


def known(name, listed):
    """A name used in a query is exported: listed as is, or a histogram's
    series (``_bucket``/``_sum``/``_count``) of a listed histogram."""
    if name in listed:
        return True
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if base in listed and not base.endswith("_total"):
                return True
    return False


def grafana_to_promql(expr):
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return expr


def dashboard_queries(path):
    """(where, expression) of every query in a Grafana dashboard JSON,
    panel targets and query variables, with Grafana's variables left in."""
    with open(path) as f:
        dash = json.load(f)
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append(("panel %r %s" % (p.get("title"), t.get("refId")), t["expr"]))
            walk(p.get("panels", []))

    walk(dash.get("panels", []))
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and isinstance(q, str):
            m = re.fullmatch(r"\s*label_values\(\s*(.*?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q)
            out.append(("variable %r" % v.get("name"), m.group(1) if m else q))
    return dash, out


def alert_rules(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    for group in doc.get("groups", []):
        for rule in group.get("rules", []):
            yield group.get("name"), rule


def listed_names(path):
    with open(path) as f:
        names = [line.strip() for line in f]
    return [n for n in names if n]
