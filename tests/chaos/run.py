"""``make chaos``: the full chaos run, with its figures printed.

    python -m tests.chaos.run [--payouts 1000] [--seeds 1,2] [--rate 0.3] [--examples N]
                              [--backend httpx|aiohttp|all]

1. Payout storms: for each backend (the base of the client under test; all of them
   unless ``--backend`` names one) and each seed, 1,000 mixed payouts at concurrency 32 through the
   fault-injecting proxy (30% of attempts faulted, eight kinds) in front of
   ``lean-async sandbox`` run as a subprocess; failed calls re-run as the README says.
   The key-leak scan watches every storm (one scan per backend).
2. Outage, per backend: 1,000 payouts while every attempt gets 503; attempts per call.
3. Fuzzing: ``--examples`` hypothesis examples per property, six properties.

Every phase is bounded in time; the sandbox process is ended by its pid. Exits 1 when a
promise is broken (a duplicate, a lost payment, a key occurrence, an error that does not
survive pickle, an undocumented exception, an amplification above the budget's bound).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Final

import attrs

from lean_async._config import BACKENDS, Backend
from tests.chaos import fuzz
from tests.chaos.leaks import LeakScanner
from tests.chaos.sandbox_process import sandbox_process
from tests.chaos.scenarios import OutageReport, StormReport, outage, payout_storm

_API_KEY: Final = "lean_chaos_key_4f7c1e"
_STORM_TIMEOUT: Final = 240.0
_OUTAGE_TIMEOUT: Final = 120.0


def _out(text: str = "") -> None:
    """Write one line of the report to stdout."""
    sys.stdout.write(text + "\n")


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"


def _print_storm(r: StormReport) -> None:
    a = r.audit
    _out(
        f"\n== payout storm [{r.backend}], seed {r.seed}: {r.payouts} payouts, "
        f"concurrency {r.concurrency}, {r.rate:.0%} faults =="
    )
    _out(
        f"calls {r.calls} (rounds {r.rounds}), attempts {r.attempts}, "
        f"forwarded {r.forwarded}, {r.seconds:.1f} s"
    )
    _out(f"faults ({sum(r.faults.values())}): {_counts(r.faults)}")
    _out(f"errors by class (documented): {_counts(r.tally.errors)}")
    _out(f"undocumented exceptions: {_counts(r.tally.undocumented)}")
    _out(
        f"duplicates {a.duplicates}, lost {a.lost}, wrong {a.wrong}, unfinished {a.unfinished}, "
        f"held {a.held}, re-runs without a key {r.tally.keyless_reruns}"
    )
    if r.proxy_errors:
        _out(f"proxy connection errors (client hung up): {_counts(r.proxy_errors)}")


def _print_outage(r: OutageReport) -> None:
    a = r.audit
    _out(f"\n== outage [{r.backend}]: {r.calls} payouts while every attempt gets 503 ==")
    _out(
        f"attempts {r.attempts} for {r.calls} logical calls: amplification "
        f"{r.amplification:.2f}x (budget bound {r.bound / r.calls:.2f}x), {r.seconds:.1f} s"
    )
    _out(
        f"after the outage: {r.rerun_rounds} re-run round(s); duplicates {a.duplicates}, "
        f"lost {a.lost}, wrong {a.wrong}, unfinished {a.unfinished}"
    )
    _out(f"undocumented exceptions: {_counts(r.tally.undocumented)}")


@attrs.define
class _BackendRun:
    """The storms, the outage and the leak scan of one backend."""

    backend: Backend
    scanner: LeakScanner
    storms: list[StormReport] = attrs.field(factory=list)
    outage: OutageReport | None = None


async def _run_backends(
    backends: Sequence[Backend], seeds: Sequence[int], payouts: int, rate: float
) -> list[_BackendRun]:
    """Run each backend's storms (watched by its own scanner) and outage on one sandbox."""
    runs = []
    with sandbox_process(_API_KEY) as sandbox:
        _out(f"sandbox: pid {sandbox.pid}, port {sandbox.port}")
        for backend in backends:
            run = _BackendRun(backend, LeakScanner(_API_KEY))
            for seed in seeds:
                with run.scanner.capturing_logs():
                    async with asyncio.timeout(_STORM_TIMEOUT):
                        report = await payout_storm(
                            sandbox,
                            payouts=payouts,
                            rate=rate,
                            seed=seed,
                            prefix=f"storm{seed}-{backend}",
                            scanner=run.scanner,
                            backend=backend,
                        )
                _print_storm(report)
                run.storms.append(report)
            async with asyncio.timeout(_OUTAGE_TIMEOUT):
                run.outage = await outage(
                    sandbox, calls=payouts, prefix=f"outage-{backend}", backend=backend
                )
            _print_outage(run.outage)
            _out(f"\n== key-leak scan [{backend}] (all its storms) ==")
            _out(run.scanner.summary())
            runs.append(run)
    return runs


def _broken_payouts(run: _BackendRun) -> dict[str, int]:
    """The payout promises one backend's run broke, by name (0 = kept)."""
    assert run.outage is not None
    reports = [*run.storms, run.outage]
    return {
        "duplicates": sum(r.audit.duplicates for r in reports),
        "lost": sum(r.audit.lost for r in reports),
        "wrong": sum(r.audit.wrong for r in reports),
        "undocumented exceptions (payouts)": sum(
            sum(r.tally.undocumented.values()) for r in reports
        ),
        "key occurrences": run.scanner.total,
        "errors that do not survive pickle": sum(run.scanner.unpicklable.values()),
        "amplification above the budget bound": int(run.outage.attempts > run.outage.bound),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run every phase, print the figures, return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run")
    parser.add_argument("--payouts", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--examples", type=int, default=fuzz.examples(1700))
    parser.add_argument(
        "--backend",
        choices=[*BACKENDS, "all"],
        default="all",
        help="the base of the client under test (default: each in turn)",
    )
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    backends: list[Backend] = list(BACKENDS) if args.backend == "all" else [args.backend]
    started = time.perf_counter()
    runs = asyncio.run(_run_backends(backends, seeds, args.payouts, args.rate))

    _out(f"\n== fuzzing: {args.examples} examples per property ==")
    tallies = []
    for fuzzer in fuzz.FUZZERS:
        t0 = time.perf_counter()
        tally = fuzzer(args.examples, strict=False)
        tallies.append(tally)
        _out(
            f"{tally.name}: {tally.examples} examples in {time.perf_counter() - t0:.0f} s; "
            f"outcomes: {_counts(tally.outcomes)}; broken: {_counts(tally.broken)}"
        )
        for sample in tally.samples[:2]:
            _out(f"    e.g. {sample}")
    total_examples = sum(t.examples for t in tallies)

    broken = {
        f"[{run.backend}] {name}": value
        for run in runs
        for name, value in _broken_payouts(run).items()
    }
    broken["broken fuzz examples"] = sum(sum(t.broken.values()) for t in tallies)
    _out(f"\n== summary ({time.perf_counter() - started:.0f} s, {total_examples} fuzz examples) ==")
    for name, value in broken.items():
        _out(f"{'ok  ' if value == 0 else 'FAIL'} {name}: {value}")
    return 0 if not any(broken.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
