"""Run many damaged-file cases in worker processes, so that a hang, a crash or a giant
allocation is reported as that case's outcome instead of taking the test run down.

A test module that uses it is also the worker's script: run as ``python MODULE --worker``
it calls :func:`serve_requests` with its own per-request function. Requests and answers
are JSON lines; an answer is a dict with at least ``"outcome"`` (the module's own words,
plus ``"bug"`` for :func:`bug_answer`, and ``"hang"``/``"crash"`` added by the runner).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

CASE_TIMEOUT_S = 20.0
#: Address-space limit per worker: a damaged count that asks for terabytes fails fast.
WORKER_MEMORY_BYTES = 3 << 30
WORKERS = 2
REPO_ROOT = Path(__file__).resolve().parents[1]


def bug_answer(during: str, error: BaseException) -> dict:
    """The answer for an exception that should never have escaped, with where it came from."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "tracemark" in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return {"outcome": "bug", "problem": f"{during}: {type(error).__name__}: {str(error)[:300]} (at {where})"}


def serve_requests(handle: Callable[[dict], dict]) -> None:
    """Worker side: answer one JSON line per request read from stdin.

    Self-test requests (``{"selftest": "hang" | "abort" | "allocate"}``) prove that the
    runner reports what they do.
    """
    try:
        import resource
    except ImportError:  # Windows: no address-space limit, giant allocations just fail later
        resource = None
    if resource is not None:
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever a library prints goes to stderr, never into the answers
    sys.stdout = sys.stderr
    for line in sys.stdin:
        request = json.loads(line)
        selftest = request.get("selftest")
        if selftest == "hang":
            time.sleep(3600)
        if selftest == "abort":
            os.abort()
        if selftest == "allocate":
            try:
                np.ones(WORKER_MEMORY_BYTES, dtype=np.uint8)
            except MemoryError as error:
                answers.write(json.dumps(bug_answer("allocating", error)) + "\n")
                continue
        answers.write(json.dumps(handle(request)) + "\n")


class _Worker:
    """One worker process; a reader thread hands its answers over (no select(): portable)."""

    def __init__(self, script: Path, log_path: Path):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONFAULTHANDLER="1")
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(script), "--worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log, env=env, cwd=str(REPO_ROOT))
        self.answers: queue.Queue = queue.Queue()
        threading.Thread(target=self._read_answers, daemon=True).start()

    def _read_answers(self) -> None:
        for line in self.process.stdout:
            self.answers.put(line)
        self.answers.put(None)  # end of output: the worker has gone

    def ask(self, request: dict, timeout: float) -> dict:
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, OSError):
            return {"outcome": "crash", "problem": f"worker gone (exit {self.process.poll()})"}
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            return {"outcome": "hang", "problem": f"no answer within {timeout:g} s"}
        if line is None:
            code = self.process.wait()
            self.log.flush()
            tail = self.log_path.read_bytes()[-600:].decode(errors="replace")
            return {"outcome": "crash", "problem": f"worker died (exit {code}); its stderr ends: {tail}"}
        return json.loads(line)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        with contextlib.suppress(OSError):  # a request still buffered for a dead worker
            self.process.stdin.close()
        self.log.close()


def run_in_workers(requests: list[dict], script: str | Path, log_dir: Path,
                   timeout: float = CASE_TIMEOUT_S, workers: int = WORKERS) -> list[tuple[dict, float]]:
    """``(answer, seconds)`` per request, in input order; a hung or crashed worker is replaced."""
    todo: queue.Queue = queue.Queue()
    for item in enumerate(requests):
        todo.put(item)
    results: list = [None] * len(requests)

    def drain(slot: int) -> None:
        worker = None
        try:
            while True:
                try:
                    i, request = todo.get_nowait()
                except queue.Empty:
                    return
                worker = worker or _Worker(Path(script), log_dir / f"worker{slot}.log")
                started = time.perf_counter()
                answer = worker.ask(request, timeout)
                results[i] = (answer, time.perf_counter() - started)
                if answer["outcome"] in ("hang", "crash"):
                    worker.stop()
                    worker = None
        finally:
            if worker is not None:
                worker.stop()

    threads = [threading.Thread(target=drain, args=(k,)) for k in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
