#!/usr/bin/env python3
"""Writes dashboards/connrca.json: the same panels as the api's dashboard, over ClickHouse.
Run after editing: python3 infra/grafana/build-dashboard.py (a test runs every query on chDB)."""
import json
import os

DS = {"type": "grafana-clickhouse-datasource", "uid": "connrca-clickhouse"}
CATS = ["firewall_deny", "auth_fail", "tls_reject", "limit_reached", "transient", "user_error", "network"]
COLORS = {
    "firewall_deny": "#ff5c5c", "auth_fail": "#ff9f43", "tls_reject": "#b07cff", "limit_reached": "#ffd43b",
    "transient": "#4cc2ff", "user_error": "#3dd68c", "network": "#8b95a5",
}
# '__all' is the variables' All value: the filter is off when it is selected
SERVER = "('__all' IN (${server:singlequote}) OR server IN (${server:singlequote}))"
CATEGORY = "('__all' IN (${category:singlequote}) OR category IN (${category:singlequote}))"


def target(sql, fmt="table", ref="A"):
    return {
        "refId": ref, "datasource": DS, "editorType": "sql", "rawSql": sql.strip(),
        "format": 0 if fmt == "timeseries" else 1, "queryType": fmt,
    }


panels = []


def panel(kind, title, grid, targets, **extra):
    p = {"id": len(panels) + 1, "type": kind, "title": title, "datasource": DS, "gridPos": grid, "targets": targets}
    p.update(extra)
    panels.append(p)


def stat(title, x, sql, unit="short", thresholds=None, description=""):
    panel("stat", title, {"x": x, "y": 0, "w": 6, "h": 4}, [target(sql)], description=description,
          options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                   "colorMode": "value", "graphMode": "none", "textMode": "value"},
          fieldConfig={"defaults": {"unit": unit, "thresholds": thresholds or {
              "mode": "absolute", "steps": [{"color": "text", "value": None}]}}, "overrides": []})


stat("Failed attempts", 0, f"""
SELECT sum(failures) AS failures
FROM connrca.window_counts FINAL
WHERE $__timeFilter(window_start) AND {SERVER} AND {CATEGORY}""")
stat("Failure ratio", 6, f"""
SELECT uniqExactIf(id, outcome = 'failed' AND {CATEGORY}) / nullIf(uniqExactIf(id, outcome = 'received'), 0) AS ratio
FROM connrca.connection_events
WHERE $__timeFilter(time) AND {SERVER}""", unit="percentunit", thresholds={
    "mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "orange", "value": 0.02},
                                  {"color": "red", "value": 0.1}]},
     description="failed / received connections (needs log_connections = on)")
stat("Open incidents", 12, f"""
SELECT countIf(status != 'resolved') AS open
FROM connrca.rca_events FINAL
WHERE last_failure >= $__fromTime AND first_failure < $__toTime AND {SERVER} AND {CATEGORY}""", thresholds={
    "mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "orange", "value": 1}]})
stat("Servers affected", 18, f"""
SELECT uniqExact(server) AS servers
FROM connrca.window_counts FINAL
WHERE $__timeFilter(window_start) AND {SERVER} AND {CATEGORY}""")

panel("timeseries", "Failed connection attempts, stacked by cause", {"x": 0, "y": 4, "w": 24, "h": 9}, [target(f"""
SELECT $__timeInterval(window_start) AS time, category, sum(failures) AS failures
FROM connrca.window_counts FINAL
WHERE $__timeFilter(window_start) AND {SERVER} AND {CATEGORY}
GROUP BY time, category
ORDER BY time""", "timeseries")],
      fieldConfig={"defaults": {"custom": {"drawStyle": "bars", "fillOpacity": 90, "lineWidth": 0,
                                           "stacking": {"mode": "normal", "group": "A"}}, "unit": "short"},
                   "overrides": [{"matcher": {"id": "byName", "options": c},
                                  "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": COLORS[c]}}]}
                                 for c in CATS]},
      options={"legend": {"displayMode": "list", "placement": "right", "calcs": ["sum"]},
               "tooltip": {"mode": "multi", "sort": "desc"}})

panel("timeseries", "Failure ratio (failed / received)", {"x": 0, "y": 13, "w": 10, "h": 9}, [target(f"""
SELECT $__timeInterval(time) AS time, server,
       uniqExactIf(id, outcome = 'failed' AND {CATEGORY}) / nullIf(uniqExactIf(id, outcome = 'received'), 0) AS ratio
FROM connrca.connection_events
WHERE $__timeFilter(time) AND {SERVER} AND outcome IN ('failed', 'received')
GROUP BY time, server
ORDER BY time""", "timeseries")],
      fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1,
                                "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "spanNulls": False}},
                   "overrides": []},
      options={"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi", "sort": "desc"}})

panel("bargauge", "Top servers", {"x": 10, "y": 13, "w": 7, "h": 9}, [target(f"""
SELECT server, sum(failures) AS failures
FROM connrca.window_counts FINAL
WHERE $__timeFilter(window_start) AND {SERVER} AND {CATEGORY}
GROUP BY server
ORDER BY failures DESC
LIMIT 10""")],
      options={"orientation": "horizontal", "displayMode": "gradient", "showUnfilled": True,
               "reduceOptions": {"calcs": [], "fields": "", "values": True}},
      fieldConfig={"defaults": {"unit": "short", "color": {"mode": "continuous-YlRd"}}, "overrides": []})

panel("table", "Top client addresses", {"x": 17, "y": 13, "w": 7, "h": 9}, [target(f"""
SELECT client_ip AS client, uniqExact(id) AS failures, uniqExact(server) AS servers,
       arrayStringConcat(groupUniqArray(3)(category), ', ') AS causes
FROM connrca.connection_events
WHERE $__timeFilter(time) AND outcome = 'failed' AND client_ip != '' AND {SERVER} AND {CATEGORY}
GROUP BY client
ORDER BY failures DESC
LIMIT 20""")],
      fieldConfig={"defaults": {}, "overrides": [{"matcher": {"id": "byName", "options": "failures"}, "properties": [
          {"id": "custom.cellOptions", "value": {"type": "gauge", "mode": "basic"}}]}]})

panel("table", "Root-cause feed", {"x": 0, "y": 22, "w": 24, "h": 12}, [target(f"""
SELECT last_failure AS last, server, category, status, persistence, count AS failed,
       title, text, arrayStringConcat(steps, '  •  ') AS steps,
       JSONExtractString(suggestion, 'cidr') AS suggested_rule
FROM connrca.rca_events FINAL
WHERE last_failure >= $__fromTime AND first_failure < $__toTime AND {SERVER} AND {CATEGORY}
ORDER BY last_failure DESC
LIMIT 100""")],
      options={"cellHeight": "lg", "showHeader": True},
      fieldConfig={"defaults": {"custom": {"cellOptions": {"type": "auto", "wrapText": True}}}, "overrides": [
          {"matcher": {"id": "byName", "options": "text"}, "properties": [{"id": "custom.width", "value": 420}]},
          {"matcher": {"id": "byName", "options": "steps"}, "properties": [{"id": "custom.width", "value": 480}]}]})


def var(name, label, query=None, options=None):
    v = {"name": name, "label": label, "multi": True, "includeAll": True, "allValue": "__all",
         "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "refresh": 2, "sort": 1}
    if query:
        v.update({"type": "query", "datasource": DS, "query": query, "definition": query})
    else:
        v.update({"type": "custom", "query": ",".join(options),
                  "options": [{"text": o, "value": o, "selected": False} for o in options]})
    return v


dashboard = {
    "uid": "connrca-failures",
    "title": "connrca: connection failures",
    "description": "Failed PostgreSQL connection attempts by cause, failure ratio, top servers and clients, RCA feed.",
    "tags": ["connrca", "postgresql"],
    "timezone": "utc",
    "editable": False,
    "graphTooltip": 1,
    "refresh": "30s",
    "schemaVersion": 39,
    "version": 1,
    "time": {"from": "now-24h", "to": "now"},
    "templating": {"list": [
        var("server", "Server", query="SELECT DISTINCT server FROM connrca.window_counts ORDER BY server"),
        var("category", "Category", options=CATS),
    ]},
    "panels": panels,
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards", "connrca.json")
with open(out, "w") as f:
    json.dump(dashboard, f, indent=2)
    f.write("\n")
print(out)
