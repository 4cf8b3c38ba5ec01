"""Benchmark: POST /optimise through the real service (uvicorn), with 1 and 2 worker processes.

Run:  python benchmarks/bench_service.py [--requests 3000] [--seconds 20] [--encounters 100]

For each worker count, starts ``ngap serve`` on a free loopback port (every era and place
grounded at startup), sends each of ``--encounters`` distinct generated encounters several
times (new connections) to warm the shape groundings of every worker, then runs a closed loop
of ``--requests`` requests (at most ``--seconds``) from as many client threads as workers, one
keep-alive connection each, cycling through the encounters (the service caches no answer:
every request is solved).  Prints requests per second, the p50 / p99 latency seen by the
client and the server's CPU time per request (from /proc: on a shared machine the wall clock
also measures the other load); the last line is one JSON object with the figures.  Target:
p99 < 5 ms at one worker.  Loopback only, bounded in count and time.  Not a test: figures
depend on the machine (and on its other load).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_solver import generate

ROOT = Path(__file__).resolve().parent.parent
WARM_PASSES = 5


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "ngap", "serve", "--port", str(port)]
    command += ["--workers", str(workers), "--time-limit", "5"]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the server stopped")
        try:
            if httpx.get(base + "/version", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.terminate()
    raise RuntimeError("the server did not start in 600 s")


def cpu_seconds(root: int) -> float:
    """User + system CPU time of a process and its children (the uvicorn workers), from /proc:
    the machine may be shared, so wall-clock latency alone would measure its other load."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == root or ppid == root:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def measure(
    base: str, pid: int, bodies: list[bytes], workers: int, count: int, seconds: float
) -> Any:
    headers = {"content-type": "application/json"}
    # Warm: an encounter shape gets its own grounding the second time a worker sees it, so
    # each encounter is sent WARM_PASSES times per worker, each on a new connection (the
    # kernel hands connections to any worker).
    for _ in range(WARM_PASSES * workers):
        for body in bodies:
            httpx.post(base + "/optimise", content=body, headers=headers).raise_for_status()
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    per_thread = count // workers

    def loop(offset: int) -> None:
        nonlocal errors
        mine: list[float] = []
        failed = 0
        with httpx.Client(base_url=base, timeout=30) as client:
            for i in range(per_thread):
                if time.monotonic() > stop_at:
                    break
                body = bodies[(offset + i) % len(bodies)]
                started = time.perf_counter()
                response = client.post("/optimise", content=body, headers=headers)
                mine.append(time.perf_counter() - started)
                failed += response.status_code != 200
        with lock:
            latencies.extend(mine)
            errors += failed

    threads = [threading.Thread(target=loop, args=(k * 97,)) for k in range(workers)]
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pid) - cpu_before
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {
        "workers": workers,
        "client_threads": workers,
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "server_cpu_ms_per_request": round(cpu * 1000 / max(1, len(latencies)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--encounters", type=int, default=100)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    args = parser.parse_args()
    encounters = generate(args.encounters)
    bodies = [json.dumps(e.model_dump(mode="json")).encode() for e in encounters]
    results = []
    for workers in (int(w) for w in args.workers.split(",")):
        process, base = start(workers)
        try:
            result = measure(base, process.pid, bodies, workers, args.requests, args.seconds)
        finally:
            process.terminate()
            process.wait(timeout=60)
        results.append(result)
        print(
            f"{workers} worker(s): {result['requests_per_second']} req/s, "
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
            f"server CPU {result['server_cpu_ms_per_request']} ms/request "
            f"({result['requests']} requests, {result['errors']} errors)",
            file=sys.stderr,
        )
    summary = {
        "benchmark": "service_optimise",
        "encounters": len(bodies),
        "target_p99_ms_one_worker": 5.0,
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "runs": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
