#!/usr/bin/env python3
"""Writes a Kong declarative config with N routes for router / config-load benchmarks.

Mix (same as bench/router_bench.cc): 70% plain prefix routes spread over ~1000 hosts (some
wildcard hosts, some routes without hosts), 20% prefix routes with methods, 5% regex routes,
5% routes with a header condition.  Usage: gen_routes.py N [--body] > routes.yaml
With --body only the service entries and the routes list are written, so they can follow a file
whose last key is `services:` (proxy_bench.sh appends them to Portico's benchmark config).
"""
import random
import sys


def main():
    args = [a for a in sys.argv[1:] if a != "--body"]
    body_only = "--body" in sys.argv[1:]
    n = int(args[0]) if args else 100000
    rng = random.Random(42)
    hosts = []
    for i in range(1000):
        if i % 20 == 0:
            hosts.append(f"*.wild{i}.example.com")
        elif i % 20 == 1:
            hosts.append(f"tenant{i}.*")
        else:
            hosts.append(f"svc{i}.example.com")
    services = max(1, n // 100)
    out = [] if body_only else ['_format_version: "3.0"', "services:"]
    for s in range(services):
        out.append(f"  - name: gen-svc{s}")
        out.append(f"    url: http://10.0.{s // 250 % 256}.{s % 250 + 1}:8080/base{s}")
    out.append("routes:")
    methods = ["GET", "POST", "PUT", "DELETE"]
    for i in range(n):
        kind = i % 20
        host = None if i % 10 == 9 else hosts[rng.randrange(len(hosts))]
        stem = f"/api/v{i % 3}/team{rng.randrange(200)}/res{i}"
        out.append(f"  - name: r{i}")
        out.append(f"    service: gen-svc{i % services}")
        if host:
            out.append(f'    hosts: ["{host}"]')
        if kind == 0:
            out.append(f'    paths: ["~{stem}/items/\\\\d+$"]')
            out.append(f"    regex_priority: {rng.randrange(3)}")
        else:
            out.append(f'    paths: ["{stem}"]')
        if kind in (1, 2, 3, 4):
            out.append(f'    methods: ["{methods[rng.randrange(4)]}"]')
        if kind == 5:
            out.append("    headers:")
            out.append(f'      x-tenant: ["t{rng.randrange(10)}"]')
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
