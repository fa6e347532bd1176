"""Where a traced step's time goes, from a SharpTitan Chrome trace with operator spans (profiling.record_operators).

Usage: python3 benchmarks/op_profile.py TRACE_JSON [TOP]
Prints the step span, the share of it covered by top-level operators (an operator inside another operator on the
same thread counts once, with its parent), and the operators with the most exclusive-of-nesting time.
"""
import collections
import json
import sys

events = json.load(open(sys.argv[1]))["traceEvents"]
top_n = int(sys.argv[2]) if len(sys.argv) > 2 else 12
spans = [e for e in events if e.get("ph") == "X"]
steps = [e for e in spans if e["name"] == "step"]
ops = sorted((e for e in spans if e.get("cat") == "op"), key=lambda e: (e["tid"], e["ts"], -e["dur"]))

# Top-level operators per thread: not inside another operator's span.
top, open_end = [], {}
for e in ops:
    if e["ts"] >= open_end.get(e["tid"], -1):
        top.append(e)
        open_end[e["tid"]] = e["ts"] + e["dur"]
by_name = collections.Counter()
for e in top:
    by_name[e["name"]] += e["dur"]

for s in steps:
    inside = [e for e in top if s["ts"] <= e["ts"] and e["ts"] + e["dur"] <= s["ts"] + s["dur"] and e["tid"] == s["tid"]]
    covered = sum(e["dur"] for e in inside)
    print(f"step span {s['dur'] / 1e3:.1f} ms: top-level operators on its thread {covered / 1e3:.1f} ms "
          f"({100 * covered / s['dur']:.1f}%), {len(inside)} top-level of {len(ops)} operators")
total = sum(by_name.values())
print(f"top-level operator time {total / 1e3:.1f} ms; the {top_n} largest:")
for name, us in by_name.most_common(top_n):
    print(f"  {name:60s} {us / 1e3:9.1f} ms {100 * us / total:5.1f}%")
