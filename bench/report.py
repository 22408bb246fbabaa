#!/usr/bin/env python3
"""The bench matrix's tables, from the rows bench/run.sh wrote.

usage: report.py ROWS.tsv IDLE.tsv

ROWS has one line per measured run: cell, target, round, req/s, requests,
CPU us per request of the proxy, p99 ms, server connections opened per
request (counted at the backends), the same from fulcrum's own metric, the
CPU seconds the rest of the machine used meanwhile, redis-server's CPU us
per request (ledger_redis), the backends' and the load generator's CPU us
per request, and the proxy's voluntary context switches per request. IDLE
has the idle probe: kind, target, connections held, RSS kB before and while
holding.

A proxy's core busy is its CPU per request times its req/s, per run: below
100 % it waited for the load core, so its req/s is the load side's.

Figures are medians over the rounds; a ratio is the median of the per-round
ratios fulcrum/HAProxy (or fulcrum/nginx) of runs of the same round, with
their range [min-max] when there are several rounds.

The ledger cells (post-*) are fulcrum's only: their targets ledger_none,
ledger_memory and ledger_redis (a fulcrum each, with no ledger, a memory and
a Redis ledger on the route) have a table of their own, "ledger", with the
ratios memory/none and redis/none paired the same way.
"""
import csv
import statistics
import sys
from collections import defaultdict

PROXIES = ("fulcrum", "fulcrum_nometrics", "haproxy", "nginx")
LEDGER = ("ledger_none", "ledger_memory", "ledger_redis")
LABEL = {"haproxy": "HAProxy", "nginx": "nginx", "fulcrum_nometrics": "fulcrum_nometrics"}


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):  # TypeError: a column older rows lack
        return None


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def fmt_rate(v):
    return "-" if v is None else f"{v:.0f}"


def ratio_text(pairs):
    """pairs: per-round (fulcrum, other) values."""
    ratios = [a / b for a, b in pairs if a is not None and b]
    if not ratios:
        return "-"
    text = f"{statistics.median(ratios):.2f}"
    if len(ratios) > 1:
        text += f" [{min(ratios):.2f}-{max(ratios):.2f}]"
    return text


def print_table(caption, head, lines):
    """A Markdown table after a blank line and its caption lines."""
    print()
    for text in caption:
        print(text)
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for line in lines:
        print("| " + " | ".join(line) + " |")


def other_text(runs):
    """The median and highest "other CPU s" of the runs given."""
    other = [num(r["other"]) for r in runs]
    other = [o for o in other if o is not None]
    return f"{statistics.median(other):.1f} [{max(other):.1f}]" if other else "-"


def busy_text(runs):
    """The median share of one core a proxy used over its runs, in %."""
    shares = []
    for r in runs:
        us, rate = num(r["us"]), num(r["rate"])
        if us is not None and rate is not None:
            shares.append(us * rate / 1e4)
    return f"{statistics.median(shares):.0f} %" if shares else "-"


def ledger_table(rows):
    """The ledger cells: fulcrum with no ledger, a memory and a Redis ledger."""
    by = defaultdict(dict)
    for r in rows:
        by[(r["cell"], r["target"])][r["round"]] = r
    cells = list(dict.fromkeys(r["cell"] for r in rows))
    present = [t for t in LEDGER if any(r["target"] == t for r in rows)]

    def values(cell, target, field):
        return [num(r[field]) for r in by[(cell, target)].values()]

    def paired(cell, a, b, field):
        x, y = by[(cell, a)], by[(cell, b)]
        return [(num(x[k][field]), num(y[k][field])) for k in x if k in y]

    name = {"ledger_none": "no ledger", "ledger_memory": "memory", "ledger_redis": "redis"}
    caption = ["ledger: fulcrum only (HAProxy and nginx have no idempotency ledger); POST /v1/payments,",
               "post-key: every request with a new Idempotency-Key, post-nokey: no key, on the same route;"]
    if any(c.startswith("post-full") for c in cells):
        caption.append("post-full: post-key against a memory store filled past max_memory first (each claim pushes one out);")
    caption += ["CPU us per request of the fulcrum process (redis-server's own in its column), ratios: median of",
                "per-round ledger/no-ledger [range], req/s and wrk's p99 in ms, medians"]
    head = ["cell"] + [f"{name[t]} us" for t in present]
    ledgers = [t for t in present if t != "ledger_none"]
    if "ledger_none" in present:
        head += [f"{name[t]}/no ledger" for t in ledgers]
    if "ledger_redis" in present:
        head.append("redis-server us")
    head += [f"{name[t]} req/s" for t in present] + [f"{name[t]} p99" for t in present]
    head.append("other CPU s median [max]")

    def line_of(c):
        line = [c] + [fmt(med(values(c, t, "us"))) for t in present]
        if "ledger_none" in present:
            line += [ratio_text(paired(c, t, "ledger_none", "us")) for t in ledgers]
        if "ledger_redis" in present:
            line.append(fmt(med(values(c, "ledger_redis", "redis_us"))))
        line += [fmt_rate(med(values(c, t, "rate"))) for t in present]
        line += [fmt(med(values(c, t, "p99"))) for t in present]
        line.append(other_text([r for t in present for r in by[(c, t)].values()]))
        return line

    print_table(caption, head, [line_of(c) for c in cells])


def main():
    all_rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
    idle = list(csv.DictReader(open(sys.argv[2]), delimiter="\t"))
    ledger_rows = [r for r in all_rows if r["target"] in LEDGER]
    rows = [r for r in all_rows if r["target"] not in LEDGER]
    cells = list(dict.fromkeys(r["cell"] for r in rows))
    targets = list(dict.fromkeys(r["target"] for r in rows))
    by = defaultdict(dict)  # (cell, target) -> round -> row
    for r in rows:
        by[(r["cell"], r["target"])][r["round"]] = r

    def values(cell, target, field):
        return [num(r.get(field)) for r in by[(cell, target)].values()]

    def paired(cell, other, field):
        a, b = by[(cell, "fulcrum")], by[(cell, other)]
        return [(num(a[k][field]), num(b[k][field])) for k in a if k in b]

    proxies = [p for p in PROXIES if p in targets]
    others = [p for p in proxies if p != "fulcrum"] if "fulcrum" in proxies else []
    unit = {"tls-new": "conn", "tls-resumed": "conn"}

    if cells:  # none when only the ledger cells ran
        head = ["cell"] + [f"fulcrum/{LABEL[o]}" for o in others] + [f"{p} us" for p in proxies]
        print_table(
            ["CPU per request (per connection for tls-new, tls-resumed) of the proxy process;",
             "ratios: median of per-round fulcrum/other [range], above 1.00 = fulcrum spends more"],
            head,
            [[c + (" (per conn)" if c in unit else "")] + [ratio_text(paired(c, o, "us")) for o in others]
             + [fmt(med(values(c, p, "us"))) for p in proxies] for c in cells])

        head = ["cell"] + [f"{t} req/s" for t in targets] + [f"fulcrum/{LABEL[o]} req/s" for o in others]
        head += [f"{t} p99" for t in targets]
        print_table(
            ["req/s (connections/s for tls-new, tls-resumed) and wrk's p99 in ms, medians; direct = wrk to one backend"],
            head,
            [[c] + [fmt_rate(med(values(c, t, "rate"))) for t in targets]
             + [ratio_text(paired(c, o, "rate")) for o in others]
             + [fmt(med(values(c, t, "p99"))) for t in targets] for c in cells])

        print_table(
            ["the proxy's core busy (its CPU per request times its req/s, per run; medians): below 100 % the",
             "proxy waited for the load core (wrk and the backends), whose own CPU then sets the req/s"],
            ["cell"] + [f"{p} busy" for p in proxies],
            [[c] + [busy_text(by[(c, p)].values()) for p in proxies] for c in cells])

        head = ["cell"] + [f"{t} backends us" for t in targets] + [f"{t} load us" for t in targets]
        head += [f"{p} sleeps/req" for p in proxies]
        print_table(
            ["the load core's side, medians: CPU us per request of the backends (both nginx) and of the load",
             "generator (wrk; s_time per connection) behind each target, and how many times per request the proxy",
             "slept (voluntary context switches: blocked with nothing to do, then woken by the next sender, whose",
             "core paid for the wake-up)"],
            head,
            [[c] + [fmt(med(values(c, t, "backend_us"))) for t in targets]
             + [fmt(med(values(c, t, "load_us"))) for t in targets]
             + [fmt(med(values(c, p, "sleeps")), 3) for p in proxies] for c in cells])

        def opened_line(c):
            line = [c] + [fmt(med(values(c, p, "opened")), 4) for p in proxies]
            if "fulcrum" in proxies:
                line.append(fmt(med(values(c, "fulcrum", "metric_opened")), 4))
            line.append(other_text([r for t in targets for r in by[(c, t)].values()]))
            return line

        head = ["cell"] + [f"{p} opened/req" for p in proxies]
        if "fulcrum" in proxies:
            head.append("fulcrum (metric)")
        head.append("other CPU s median [max]")
        print_table(
            ["server connections opened per request, after the warm-up (accepted by the backends; fulcrum also by",
             "its fulcrum_upstream_connections_opened_total), and the CPU s the rest of the machine used per run"],
            head, [opened_line(c) for c in cells])

    if ledger_rows:
        ledger_table(ledger_rows)

    other = sum(num(r["other"]) or 0 for r in all_rows)
    wall = sum(num(r["wall"]) or 0 for r in all_rows)
    if wall:
        print()
        print(f"other processes (not the bench's) used {other:.0f} CPU s during the {wall:.0f} s of measured runs:"
              f" {other / wall:.2f} cores on average")

    if idle:
        per = {}
        for r in idle:
            per[(r["kind"], r["target"])] = (int(r["rss1"]) - int(r["rss0"])) / int(r["conns"])

        def idle_line(kind, conns):
            line = [f"idle {kind}", conns] + [fmt(per.get((kind, p))) for p in proxies]
            f = per.get((kind, "fulcrum"))
            for o in others:
                v = per.get((kind, o))
                line.append(f"{f / v:.2f}" if f is not None and v else "-")
            return line

        conns = {kind: next((r["conns"] for r in idle if r["kind"] == kind), None) for kind in ("http", "tcp")}
        print_table(
            ["idle probe: client connections held open after one request each; RSS growth per connection, KiB"],
            ["probe", "connections"] + [f"{p} KiB/conn" for p in proxies] + [f"fulcrum/{LABEL[o]}" for o in others],
            [idle_line(kind, n) for kind, n in conns.items() if n is not None])
    print()

if __name__ == "__main__":
    main()
