# Every target creates .venv with the machine's Python 3.11 and installs into it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every optional integration, so the whole suite runs.
EXTRAS := cli,fastapi,aiohttp,redis,temporal,otel

.PHONY: install test lint typecheck pytest docs units demo bench chaos scale scale-memory loops \
	burst pace bench-webhooks bench-versions clean

# pip >= 25.1 reads PEP 735 dependency groups (--group dev).
$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip>=25.1'
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]' --group dev --group docs
	# The newest sentry-sdk 2.x beside the venv's 3.x: tests/frames runs its error paths
	# under both lines (a subprocess with this folder first on sys.path).
	$(BIN)/python -m pip install --quiet --no-deps --upgrade --target $(VENV)/sentry-2 'sentry-sdk==2.76.0'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check lean_async tests benchmarks examples conftest.py noxfile.py
	$(BIN)/ruff format --check lean_async tests benchmarks examples conftest.py noxfile.py

typecheck: $(STAMP)
	$(BIN)/mypy --strict lean_async

# coverage run (not pytest-cov): the pytest11 plugin imports lean_async before
# pytest-cov would start measuring. The CLI tests' child processes write data files of
# their own (tests/conftest.py), combined with the run's before the report.
pytest: $(STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -q
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report

# pytest also builds the documentation site strictly (tests/test_docs.py) and runs every
# code block of README.md and docs/ (Sybil, tests/doc_blocks.py).
test: lint typecheck pytest

# The documentation site, into site/ (docs/development.md); fails on any warning.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The fast unit subset on every Python the machine has (3.11, 3.12, 3.13: noxfile.py).
units: $(STAMP)
	$(BIN)/nox

demo: $(STAMP)
	$(BIN)/lean-async demo

# Loopback benchmark (benchmarks/README.md): raw httpx, lean on httpx, lean on aiohttp and
# raw aiohttp against a canned server process; writes benchmarks/results.md and results.png.
# Then the same calls through a forward proxy (proxy.py): lean on aiohttp vs raw aiohttp vs
# lean on httpx. Under 6 minutes. The bench group (matplotlib) is installed on first use.
bench: $(STAMP)
	$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/python -m pip install --quiet --group bench
	$(BIN)/python benchmarks/bench_loopback.py
	$(BIN)/python benchmarks/bench_proxy.py

# The full chaos run (docs/reliability.md): on each backend (httpx, aiohttp) a payout storm
# through a fault-injecting proxy, an outage and the key-leak scan; then 6 x 1,700 fuzz
# examples. Bounded; about 5-8 minutes. CHAOS_BACKEND=aiohttp runs one backend only.
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos.run --payouts 1000 --seeds 1 --examples $${CHAOS_EXAMPLES:-1700} \
		--backend $${CHAOS_BACKEND:-all}

# One module-level client through 1,000 successive asyncio.run() calls on each backend,
# against a `lean-async sandbox` process (issue 19): 0 exceptions, 0 warnings, descriptors
# back to their start +-2, RSS growth < 5 MB. About 30 s; the suite runs 150 of them.
loops: $(STAMP)
	$(BIN)/python -W error -m tests.transport.soak_loops --runs $${LOOPS_RUNS:-1000}

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache .nox site

# Past one machine (issue 21), one sandbox, one Temporal dev server: in-process create_many,
# then the same 10,000 gigs as a Temporal batch on 1, 2 and 4 worker processes (items/s,
# ratio, medians of 2 interleaved repeats), then 4 workers with the busiest SIGKILLed at 30%
# (duplicates 0, missing 0, longest stall in progress); workers' and starter's RSS through
# each batch (flat); 4 workers with slices of 100 and 500 beside the default 200. Writes
# docs/scale.md and docs/scale.png. About 8-12 minutes.
scale: $(STAMP)
	$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/python -m pip install --quiet --group bench
	$(BIN)/python -m tests.temporal.scale --items $${SCALE_ITEMS:-10000} --compare-slices 100,500 --write

# create_many's memory at scale: 20,000 vs 100,000 items under tracemalloc (slow: tracemalloc
# makes each call ~4x slower; 5-20 minutes on a loaded 2-core machine).
scale-memory: $(STAMP)
	LEAN_ASYNC_SCALE=1 $(BIN)/pytest -q -p no:randomly tests/resources/test_create_many.py -k scale

# A payroll night's webhook burst: 3,000 gigs through `lean-async sandbox --forward-to` into a
# real receiver; prints arrivals (all), given up (0), API latency during the burst and the
# SIGTERM exit time; then SIGTERM mid-burst against a slow receiver. About 1-2 minutes.
burst: $(STAMP)
	$(BIN)/python -m tests.burst.run --gigs 3000
	$(BIN)/python -m tests.burst.run --gigs 3000 --receiver-delay 0.05 --stop-early

# The pacing goal against `lean-async sandbox --rate-limit 200`: a 20,000-gig create_many at
# concurrency 64 from one default client, then 4 processes sharing a RedisRateLimiter
# (starts a redis-server); prints 429s, throughput, duplicates and losses. About 4 minutes.
pace: $(STAMP)
	$(BIN)/python -m tests.ratelimit.pace --limit 200 --gigs 20000
	$(BIN)/python -m tests.ratelimit.pace --limit 200 --gigs 20000 --processes 4 --redis

# Signed webhook deliveries/s through webhook_router (FastAPI under uvicorn) and the aiohttp
# handler, memory and Redis de-duplication, 20% duplicates, concurrency 64 (needs
# redis-server). Under a minute.
# This tree's lean-async against an earlier commit's (BEFORE=<ref>), one client process each,
# turn by turn against one canned server: did a change cost speed? Writes
# benchmarks/versions.md. About 6 minutes.
bench-versions: $(STAMP)
	$(BIN)/python benchmarks/bench_versions.py $(if $(BEFORE),--before $(BEFORE))

bench-webhooks: $(STAMP)
	$(BIN)/python benchmarks/bench_webhooks.py --deliveries 5000 --concurrency 64
