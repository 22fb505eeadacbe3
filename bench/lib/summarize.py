#!/usr/bin/env python3
"""Turn proxy_bench.sh's raw run records into tables, CSV and JSON.

usage: summarize.py RAW_RUNS OUT_DIR

RAW_RUNS holds one line per measured run, `key=value` pairs separated by
spaces (written by proxy_bench.sh: run metadata, the proxy's CPU ticks, and
the BENCH_RESULT line printed by lib/report.lua). Writes OUT_DIR/runs.csv,
OUT_DIR/runs.json and OUT_DIR/summary.txt, prints the summary, and exits 1
if any run saw non-2xx responses or socket errors (listing them), else 0.
"""
import csv
import json
import statistics
import sys
from pathlib import Path

ERR_KEYS = ("err_connect", "err_read", "err_write", "err_timeout", "err_status")
# wrk counts a response as a status error when its status is >= 400.
ERR_LABEL = {"err_connect": "connect", "err_read": "read", "err_write": "write",
             "err_timeout": "timeout", "err_status": "non-2xx(>=400)"}
SIZE_BYTES = {"small": 13, "16k": 16384}

FIELDS = [
    "round", "size", "proxy", "position", "duration_s", "requests", "rps",
    "p50_ms", "p90_ms", "p99_ms", "max_ms", "mean_ms", "bytes",
    *ERR_KEYS, "errors", "cpu_s", "cpu_pct", "req_per_cpu_s",
    "connections", "threads",
]


def parse(path):
    runs = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        kv = dict(item.split("=", 1) for item in line.split())
        dur_s = int(kv["duration_us"]) / 1e6
        requests = int(kv["requests"])
        cpu_s = int(kv["cpu_ticks"]) / int(kv["clk_tck"])
        errs = {k: int(kv[k]) for k in ERR_KEYS}
        runs.append({
            "round": int(kv["round"]),
            "size": kv["size"],
            "proxy": kv["proxy"],
            "position": int(kv["position"]),
            "duration_s": round(dur_s, 3),
            "requests": requests,
            "rps": round(requests / dur_s, 1) if dur_s > 0 else 0.0,
            "p50_ms": int(kv["p50_us"]) / 1000,
            "p90_ms": int(kv["p90_us"]) / 1000,
            "p99_ms": int(kv["p99_us"]) / 1000,
            "max_ms": int(kv["max_us"]) / 1000,
            "mean_ms": round(float(kv["mean_us"]) / 1000, 4),
            "bytes": int(kv["bytes"]),
            **errs,
            "errors": sum(errs.values()),
            "cpu_s": round(cpu_s, 2),
            "cpu_pct": round(100 * cpu_s / dur_s, 1) if dur_s > 0 else 0.0,
            # None when the run was too short to register a single CPU tick.
            "req_per_cpu_s": round(requests / cpu_s, 1) if cpu_s > 0 else None,
            "connections": int(kv["connections"]),
            "threads": int(kv["threads"]),
        })
    return runs


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_int(v):
    return "-" if v is None else f"{v:,.0f}"


def fmt_ms(v):
    return "-" if v is None else f"{v:.3f}"


def fmt_ratio(v):
    return "-" if v is None else f"{v:.2f}"


def same_round_ratios(runs, size, proxy, reference):
    """req/CPU-s of `proxy` over `reference`'s, for every round that has both."""
    out = []
    for rnd in sorted({r["round"] for r in runs}):
        mine = [r for r in runs if (r["round"], r["size"], r["proxy"]) == (rnd, size, proxy)]
        ref = [r for r in runs if (r["round"], r["size"], r["proxy"]) == (rnd, size, reference)]
        if mine and ref and mine[0]["req_per_cpu_s"] and ref[0]["req_per_cpu_s"]:
            out.append(mine[0]["req_per_cpu_s"] / ref[0]["req_per_cpu_s"])
    return out


def summarize(runs):
    sizes = list(dict.fromkeys(r["size"] for r in runs))
    proxies = list(dict.fromkeys(r["proxy"] for r in runs))
    out = {}
    for size in sizes:
        rows = {}
        for proxy in proxies:
            rs = [r for r in runs if r["size"] == size and r["proxy"] == proxy]
            if not rs:
                continue
            rows[proxy] = {
                "rounds": len(rs),
                "rps": med([r["rps"] for r in rs]),
                "p50_ms": med([r["p50_ms"] for r in rs]),
                "p99_ms": med([r["p99_ms"] for r in rs]),
                "errors": sum(r["errors"] for r in rs),
                "cpu_pct": med([r["cpu_pct"] for r in rs]),
                "req_per_cpu_s": med([r["req_per_cpu_s"] for r in rs]),
            }
        base = rows.get("nginx")
        for proxy, row in rows.items():
            for key, name in (("rps", "rps_vs_nginx"), ("req_per_cpu_s", "cpu_eff_vs_nginx")):
                ok = base and base[key] and row[key] is not None
                row[name] = round(row[key] / base[key], 3) if ok else None
            # Same-round pairs show how much of a ratio is noise.
            paired = same_round_ratios(runs, size, proxy, "nginx")
            row["cpu_eff_vs_nginx_range"] = (
                [round(min(paired), 3), round(max(paired), 3)] if base and paired else None)
            # Variants of Portico against plain Portico, round by round.
            vs = same_round_ratios(runs, size, proxy, "portico")
            row["cpu_eff_vs_portico_rounds"] = [round(v, 3) for v in vs] if proxy.startswith("portico+") else None
        out[size] = rows
    return out


def render(summary, runs):
    r0 = runs[0]
    lines = []
    header = (f"{'proxy':<9}{'RPS':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
              f"{'CPU%':>7}{'req/CPU-s':>11}{'RPS/ngx':>9}{'CPU-eff/ngx':>13}{'  (range)':<14}")
    for size, rows in summary.items():
        n = max(r["rounds"] for r in rows.values())
        body = f"{SIZE_BYTES[size]} B" if size in SIZE_BYTES else size
        lines.append(f"== GET /{size} ({body} body): median of {n} round(s), "
                     f"{r0['connections']} conns, ~{r0['duration_s']:.0f}s runs ==")
        lines.append(header.rstrip())
        for proxy, row in rows.items():
            rng = row["cpu_eff_vs_nginx_range"]
            rng_s = f"  ({rng[0]:.2f}-{rng[1]:.2f})" if rng and proxy != "nginx" else ""
            lines.append(
                f"{proxy:<9}{fmt_int(row['rps']):>10}{fmt_ms(row['p50_ms']):>9}"
                f"{fmt_ms(row['p99_ms']):>9}{row['errors']:>8}"
                f"{row['cpu_pct']:>6.0f}%{fmt_int(row['req_per_cpu_s']):>11}"
                f"{fmt_ratio(row['rps_vs_nginx']):>9}{fmt_ratio(row['cpu_eff_vs_nginx']):>13}{rng_s}")
        low = [p for p, row in rows.items() if row["cpu_pct"] is not None and row["cpu_pct"] < 80]
        if low:
            lines.append(f"note: {', '.join(low)} used < 80% of the proxy core: the load core "
                         "(wrk + origin) or other tenants limited RPS; RPS ratios say little here, "
                         "req/CPU-s ratios are the better guide.")
        variants = [(p, row["cpu_eff_vs_portico_rounds"]) for p, row in rows.items()
                    if row.get("cpu_eff_vs_portico_rounds")]
        if variants:
            lines.append("req/CPU-s of each variant / plain portico's, round by round (median, range):")
            for proxy, vs in variants:
                lines.append(f"  {proxy:<24}{statistics.median(vs):>6.3f}  ({min(vs):.2f}-{max(vs):.2f}, "
                             f"{len(vs)} rounds)")
        lines.append("")
    return "\n".join(lines)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    runs = parse(sys.argv[1])
    if not runs:
        print("summarize: no runs recorded", file=sys.stderr)
        return 1
    out_dir = Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "runs.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(runs)
    summary = summarize(runs)
    (out_dir / "runs.json").write_text(json.dumps({"runs": runs, "summary": summary}, indent=2) + "\n")
    text = render(summary, runs)
    bad = [r for r in runs if r["errors"]]
    if bad:
        text += "\nRUNS WITH ERRORS:\n" + "\n".join(
            f"  round {r['round']} /{r['size']} {r['proxy']}: "
            + ", ".join(f"{ERR_LABEL[k]}={r[k]}" for k in ERR_KEYS if r[k])
            + f" (of {r['requests']} requests)" for r in bad) + "\n"
    (out_dir / "summary.txt").write_text(text)
    print(text, end="")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
