# Every target creates .venv on first use, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: build bytecode serve test bench demo clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# axe-core for the browser tests' accessibility checks (package.json / package-lock.json).
NODE_STAMP := node_modules/.package-lock.json
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent

# The generator's modules compiled to bytecode once, as Python does on first import unless
# PYTHONDONTWRITEBYTECODE is set (it is on some CI machines): else every build compiles them (~30 ms).
bytecode: $(STAMP)
	$(PY) -m compileall -q digest

build: bytecode
	$(PY) build.py build

serve: $(STAMP)
	$(PY) build.py serve

test: $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest

# BENCH_ARGS="--huge" adds 100,000 articles; "--runs 5" for tighter medians.
bench: bytecode
	$(PY) -m benchmarks.bench $(BENCH_ARGS)

# A 1,000-article site from the synthetic corpus (example.com URLs), to see every feature at scale.
DEMO := _demo
demo: $(STAMP)
	rm -rf $(DEMO)/content
	$(PY) -m benchmarks.corpus $(DEMO)/content --count 1000
	$(PY) build.py build --content $(DEMO)/content --config benchmarks/demo.yaml --output $(DEMO)/site --cache $(DEMO)/.cache
	@echo "demo site in $(DEMO)/site: serve it with $(PY) -m http.server -d $(DEMO)/site"

clean:
	rm -rf _site .cache .pytest_cache $(DEMO)
