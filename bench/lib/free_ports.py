#!/usr/bin/env python3
"""Print N distinct free TCP ports on 127.0.0.1, one per line.

Ports are drawn at random from below the kernel's ephemeral range, so that
the many outgoing loopback connections made during a run (and by whatever
else shares the machine) cannot collide with our listeners.
"""
import random
import socket
import sys


def ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    hi = min(ephemeral_low(), 65536)
    lo = 20000 if hi > 21000 else 10000
    held, ports = [], []
    for _ in range(2000):
        if len(ports) == n:
            break
        port = random.randrange(lo, hi)
        if port in ports:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        held.append(s)  # keep bound until all are chosen: no duplicates
        ports.append(port)
    for s in held:
        s.close()
    if len(ports) != n:
        print(f"free_ports: found only {len(ports)} of {n} ports", file=sys.stderr)
        return 1
    print("\n".join(map(str, ports)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
