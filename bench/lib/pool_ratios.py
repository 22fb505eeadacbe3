#!/usr/bin/env python3
"""Pool the same-round ratios of several proxy_bench.sh runs.

usage: pool_ratios.py RUNS_CSV [RUNS_CSV ...]

Each RUNS_CSV is a run's runs.csv. For every size and every Portico variant, the ratio of its
req/CPU-s to plain Portico's in the same round is taken from every round of every run; printed are
each run's median, the median of all rounds, and a 95% interval of that median from a two-level
bootstrap (4,000 resamples, fixed seed: runs drawn with replacement, then rounds within each drawn
run), because rounds of one run share the other tenants of its minutes and are not independent.
Pooling runs made at different times is how a difference of a few percent is told from them.
"""
import csv
import random
import statistics
import sys

from summarize import same_round_ratios


def load(path):
    runs = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            value = row["req_per_cpu_s"]
            runs.append({
                "round": int(row["round"]),
                "size": row["size"],
                "proxy": row["proxy"],
                "req_per_cpu_s": float(value) if value not in ("", "None") else None,
            })
    return runs


def median_interval(runs, resamples=4000, seed=1):
    """95% interval of the pooled median; `runs` is a list of per-run lists of ratios."""
    rng = random.Random(seed)
    medians = []
    for _ in range(resamples):
        drawn = [rng.choice(runs) for _ in runs]
        medians.append(statistics.median([x for run in drawn for x in rng.choices(run, k=len(run))]))
    medians.sort()
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    pooled = {}  # (size, proxy) -> one list of ratios per run
    for path in sys.argv[1:]:
        runs = load(path)
        for size in dict.fromkeys(r["size"] for r in runs):
            for proxy in dict.fromkeys(r["proxy"] for r in runs):
                ratios = same_round_ratios(runs, size, proxy, "portico") if proxy.startswith("portico+") else []
                if ratios:
                    pooled.setdefault((size, proxy), []).append(ratios)
    if not pooled:
        print("no Portico variant next to plain portico in these runs", file=sys.stderr)
        return 1
    print(f"req/CPU-s of each variant / plain portico's, same round, pooled over {len(sys.argv) - 1} run(s):")
    for (size, proxy), runs in pooled.items():
        rounds = [x for run in runs for x in run]
        low, high = median_interval(runs)
        per_run = ", ".join(f"{statistics.median(run):.3f}" for run in runs)
        print(f"  {size:6s} {proxy:24s} median {statistics.median(rounds):.3f}  95% interval {low:.3f}-{high:.3f}"
              f"  ({len(rounds)} rounds; runs: {per_run})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
