#!/usr/bin/env python3
"""The straightforward Python a user would write instead of trail-insights: per-minute counts of
management write calls (call rate) and of errors (error rate) per API, from CloudTrail log files,
with the same counting rules as src/cloudtrail/record.rs (skip Insights/aggregated/network-activity and data
events, de-duplicate eventIDs). gzip and json are C modules; Counter is the natural tool.

Usage: reference.py FILE_OR_DIR...   prints the number of series-minutes and counted events.
"""
import collections
import gzip
import json
import os
import sys

NOT_API = {"AwsCloudTrailInsight", "AwsAggregatedEvent", "AwsVpceEvent", "AwsVpceEvents"}


def files(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                for n in sorted(names):
                    if n.endswith(".json.gz"):
                        yield os.path.join(root, n)
        else:
            yield p


def main():
    counts = collections.Counter()
    seen = set()
    for path in files(sys.argv[1:]):
        with gzip.open(path, "rb") as f:
            records = json.load(f)["Records"]
        for r in records:
            event_type = r.get("eventType", "AwsApiCall")
            if event_type in NOT_API:
                continue
            category = r.get("eventCategory")
            if category is None:
                management = r.get("managementEvent") is not False
            elif category in ("Management", "Data"):
                management = category == "Management"
            else:
                continue
            t, src, name = r.get("eventTime"), r.get("eventSource"), r.get("eventName")
            if not (t and src and name) or not management:
                continue
            call = r.get("readOnly") is False and event_type != "AwsConsoleSignIn"
            code = r.get("errorCode")
            if not call and not code:
                continue
            eid = r.get("eventID")
            if eid in seen:
                continue
            seen.add(eid)
            minute = t[:16]
            if call:
                counts[(minute, "call", src, name)] += 1
            if code:
                counts[(minute, "error", src, name, code)] += 1
    print(f"{len(counts)} series-minutes, {len(seen)} counted events")


if __name__ == "__main__":
    main()
