#!/usr/bin/env python3
"""The read scenarios of `make bench` (scripts/bench.sh starts the stack and calls this).

  bench_reads.py closed OUT.json TOKEN DURATION NAME|URL|PID ...
      wrk, 64 connections (closed loop), one run per URL: req/s, p50, p99, and the CPU
      the serving process and PostgreSQL spent per request.
  bench_reads.py open OUT.json TOKEN DURATION CONNS RATE NAME|URL|PID ...
      oha, open loop: CONNS keep-alive connections in all, split over the URLs, and RATE
      requests a second in all, at a fixed rate with latency correction (a late request
      counts from when it was due, so a stall cannot hide); every service's RSS after.

Standard library only, besides wrk (Debian) and oha (crates.io, target/tools/bin).
"""
import json
import os
import re
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
OHA = os.environ.get("OHA", "oha")


def ticks(pid: str) -> int:
    """utime + stime of one process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    rest = data[data.rfind(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def postgres_ticks() -> int:
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                data = f.read()
        except OSError:
            continue
        if data[data.find("(") + 1:data.rfind(")")] == "postgres":
            rest = data[data.rfind(")") + 2:].split()
            total += int(rest[11]) + int(rest[12])
    return total


def rss_mb(pid: str) -> tuple[float, float]:
    now = peak = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return now, peak


def ms(value: str) -> float:
    n, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
    return float(n) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def targets(args):
    out = []
    for spec in args:
        name, url, pid = spec.split("|")
        out.append((name, url, pid))
    return out


def wrk(url: str, token: str, seconds: int, latency: bool) -> str:
    cmd = ["wrk", "-t2", "-c64", f"-d{seconds}s", "-H", f"Authorization: Bearer {token}", url]
    if latency:
        cmd.insert(1, "--latency")
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def closed(out_path, token, duration, specs):
    rows = []
    for name, url, pid in targets(specs):
        wrk(url, token, 3, False)
        s0, p0 = ticks(pid), postgres_ticks()
        text = wrk(url, token, duration, True)
        s1, p1 = ticks(pid), postgres_ticks()
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
        total = int(re.search(r"(\d+) requests in", text).group(1))
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        errors = re.search(r"Socket errors: (.*)", text)
        rows.append({
            "scenario": name,
            "rps": rps,
            "p50_ms": ms(re.search(r"^\s*50%\s+(\S+)", text, re.M).group(1)),
            "p99_ms": ms(re.search(r"^\s*99%\s+(\S+)", text, re.M).group(1)),
            "server_cpu_ms_per_req": round((s1 - s0) / CLK_TCK * 1000 / max(total, 1), 3),
            "postgres_cpu_ms_per_req": round((p1 - p0) / CLK_TCK * 1000 / max(total, 1), 3),
            "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else "",
        })
    print("| scenario (wrk, 64 connections) | req/s | p50 ms | p99 ms | server CPU ms/req | PostgreSQL CPU ms/req | non-2xx |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
              f"{r['server_cpu_ms_per_req']:.3f} | {r['postgres_cpu_ms_per_req']:.3f} | {r['non_2xx']} |")
    with open(out_path, "w") as f:
        json.dump(rows, f, indent=2)


def open_loop(out_path, token, duration, conns, rate, specs):
    specs = targets(specs)
    share_c, share_q = conns // len(specs), rate / len(specs)
    procs = []
    for name, url, _ in specs:
        cmd = [OHA, "--no-tui", "--output-format", "json", "--latency-correction",
               "--disable-keepalive" if os.environ.get("NO_KEEPALIVE") else "--http-version=1.1",
               "-c", str(share_c), "-q", f"{share_q:g}", "-z", f"{duration}s",
               "-H", f"Authorization: Bearer {token}", url]
        procs.append((name, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    # The connections' peak, sampled while the load runs.
    pids = sorted({pid for _, _, pid in specs})
    peak_conns = 0
    while any(p.poll() is None for _, p in procs):
        established = 0
        for pid in pids:
            try:
                established += sum(1 for fd in os.listdir(f"/proc/{pid}/fd")
                                   if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"))
            except OSError:
                pass
        peak_conns = max(peak_conns, established)
        time.sleep(1)
    rows = []
    for name, p in procs:
        stdout, stderr = p.communicate()
        if p.returncode != 0:
            sys.exit(f"oha for {name} failed: {stderr[-2000:]}")
        r = json.loads(stdout)
        summary, pct = r["summary"], r.get("latencyPercentiles", {})
        codes = r.get("statusCodeDistribution", {})
        ok = sum(v for k, v in codes.items() if k.startswith("2"))
        rows.append({
            "scenario": name,
            "rps": summary.get("requestsPerSec", 0.0),
            "ok": ok,
            "non_2xx": sum(codes.values()) - ok,
            # oha cancels what is in flight when the time is up: not a failure.
            "errors": sum(n for k, n in r.get("errorDistribution", {}).items() if "deadline" not in k),
            "cut_at_the_end": sum(n for k, n in r.get("errorDistribution", {}).items() if "deadline" in k),
            "error_kinds": r.get("errorDistribution", {}),
            "p50_ms": (pct.get("p50") or 0) * 1000,
            "p99_ms": (pct.get("p99") or 0) * 1000,
            "max_ms": (summary.get("slowest") or 0) * 1000,
        })
    print(f"| open loop: {conns} connections, {rate} req/s for {duration} s (oha) | req/s | p50 ms | p99 ms | max ms | 2xx | non-2xx | errors | in flight at the end |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['scenario']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} | "
              f"{r['ok']} | {r['non_2xx']} | {r['errors']} | {r['cut_at_the_end']} |")
    for r in rows:
        for kind, n in r["error_kinds"].items():
            print(f"{r['scenario']}: {n} x {kind}")
    print(f"\nsockets held by the services at the peak: {peak_conns}")
    memory = {}
    for name, _, pid in specs:
        memory.setdefault(pid, name)
    for pid, name in memory.items():
        now, peak = rss_mb(pid)
        print(f"RSS of the service behind {name}: {now:.0f} MB now, {peak:.0f} MB peak")
    with open(out_path, "w") as f:
        json.dump({"rows": rows, "peak_sockets": peak_conns}, f, indent=2)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "closed":
        closed(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
    elif mode == "open":
        open_loop(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7:])
    else:
        sys.exit(__doc__)
