"""``make chaos``: the full chaos run, with its figures printed.

    python -m tests.chaos.run [--payouts 1000] [--seeds 1,2] [--rate 0.3] [--examples N]

1. Payout storms: for each seed, 1,000 mixed payouts at concurrency 32 through the
   fault-injecting proxy (30% of attempts faulted, eight kinds) in front of
   ``lean-async sandbox`` run as a subprocess; failed calls re-run as the README says.
   The key-leak scan watches every storm.
2. Outage: 1,000 payouts while every attempt gets 503; attempts per logical call.
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
        f"\n== payout storm, seed {r.seed}: {r.payouts} payouts, concurrency {r.concurrency}, "
        f"{r.rate:.0%} faults =="
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
    _out(f"\n== outage: {r.calls} payouts while every attempt gets 503 ==")
    _out(
        f"attempts {r.attempts} for {r.calls} logical calls: amplification "
        f"{r.amplification:.2f}x (budget bound {r.bound / r.calls:.2f}x), {r.seconds:.1f} s"
    )
    _out(
        f"after the outage: {r.rerun_rounds} re-run round(s); duplicates {a.duplicates}, "
        f"lost {a.lost}, wrong {a.wrong}, unfinished {a.unfinished}"
    )
    _out(f"undocumented exceptions: {_counts(r.tally.undocumented)}")


async def _storms(
    seeds: Sequence[int], payouts: int, rate: float, scanner: LeakScanner
) -> tuple[list[StormReport], OutageReport]:
    """Run the storms (watched by *scanner*) and the outage against one sandbox process."""
    reports = []
    with sandbox_process(_API_KEY) as sandbox:
        _out(f"sandbox: pid {sandbox.pid}, port {sandbox.port}")
        for seed in seeds:
            with scanner.capturing_logs():
                async with asyncio.timeout(_STORM_TIMEOUT):
                    report = await payout_storm(
                        sandbox,
                        payouts=payouts,
                        rate=rate,
                        seed=seed,
                        prefix=f"storm{seed}",
                        scanner=scanner,
                    )
            _print_storm(report)
            reports.append(report)
        async with asyncio.timeout(_OUTAGE_TIMEOUT):
            outage_report = await outage(sandbox, calls=payouts, prefix="outage")
        _print_outage(outage_report)
    return reports, outage_report


def main(argv: Sequence[str] | None = None) -> int:
    """Run every phase, print the figures, return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run")
    parser.add_argument("--payouts", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--examples", type=int, default=fuzz.examples(1700))
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    started = time.perf_counter()
    scanner = LeakScanner(_API_KEY)
    storms, outage_report = asyncio.run(_storms(seeds, args.payouts, args.rate, scanner))

    _out("\n== key-leak scan (all storms) ==")
    _out(scanner.summary())

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
        "duplicates": sum(r.audit.duplicates for r in storms) + outage_report.audit.duplicates,
        "lost": sum(r.audit.lost for r in storms) + outage_report.audit.lost,
        "wrong": sum(r.audit.wrong for r in storms) + outage_report.audit.wrong,
        "undocumented exceptions (payouts)": sum(
            sum(t.undocumented.values()) for t in [*(r.tally for r in storms), outage_report.tally]
        ),
        "key occurrences": scanner.total,
        "errors that do not survive pickle": sum(scanner.unpicklable.values()),
        "broken fuzz examples": sum(sum(t.broken.values()) for t in tallies),
        "amplification above the budget bound": int(outage_report.attempts > outage_report.bound),
    }
    _out(f"\n== summary ({time.perf_counter() - started:.0f} s, {total_examples} fuzz examples) ==")
    for name, value in broken.items():
        _out(f"{'ok  ' if value == 0 else 'FAIL'} {name}: {value}")
    return 0 if not any(broken.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
