# pops: two commands on a fresh Debian machine with the Swift toolchain:
#   make demo   installs missing system packages, builds release, runs the main job
#   make test   installs missing system packages, runs the whole test suite

SWIFT ?= swift
# Debian packages the build needs: Box2D for LunarLander; gcc (cc) compiles the exported C in the tests.
DEB_PACKAGES ?= libbox2d-dev gcc
DEMO_OUT ?= runs/demo

.PHONY: deps build demo test fuzz bench bench-peers clean install

deps:
	@bash scripts/deps.sh $(DEB_PACKAGES)

build: deps
	$(SWIFT) build -c release

demo: build
	@bash scripts/demo.sh $(DEMO_OUT)

# Installs the release build as PREFIX/bin/pops (default ~/.local/bin/pops).
PREFIX ?= $(HOME)/.local
# The resource bundles (the Gymnasium worker, the Ray driver) go beside it,
# where the executable looks first; the bridge's .venv-gym stays in this
# checkout, which the installed pops finds (or set POPS_PYTHON).
install: build
	@mkdir -p $(PREFIX)/bin
	@install -m 755 .build/release/pops $(PREFIX)/bin/pops
	@for bundle in .build/release/*.resources; do rm -rf "$(PREFIX)/bin/$$(basename $$bundle)"; cp -R "$$bundle" $(PREFIX)/bin/; done
	@echo "install: $(PREFIX)/bin/pops (add $(PREFIX)/bin to PATH if it is not there)"

# Tests run on the release build: the training smoke tests need optimised code.
# Then a package that depends on pops by URL and version must build and run.
test: deps deps-gym deps-ray deps-browser
	$(SWIFT) test -c release
	SWIFT=$(SWIFT) bash scripts/check_consumer.sh

# The model and config loaders under a longer seeded fuzz than make test's
# (Tests/PoPSTests/FuzzTests.swift; docs/reliability.md records the runs).
FUZZ_ITERATIONS ?= 1000000
FUZZ_SEED ?= 1
fuzz: deps
	POPS_FUZZ_ITERATIONS=$(FUZZ_ITERATIONS) POPS_FUZZ_SEED=$(FUZZ_SEED) $(SWIFT) test -c release --filter FuzzTests

bench: deps
	$(SWIFT) build -c release --product pops-bench
	.build/release/pops-bench all

# pops against PyTorch (PyPI's wheel, used on the CPU) and ONNX Runtime on the
# same networks and steps, rounds alternating (scripts/bench_peers.py). The
# venv is large: PyPI's torch pulls its CUDA libraries (~4.4 GB) even for CPU use.
BENCH_VENV ?= .venv-bench
BENCH_PACKAGES ?= torch numpy onnxruntime
BENCH_ROUNDS ?= 3
bench-peers: deps
	$(SWIFT) build -c release
	@test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV) || { echo "bench-peers: error: python3 -m venv failed (install python3-venv)"; exit 1; }
	@$(BENCH_VENV)/bin/python -c "import torch, numpy, onnxruntime" 2>/dev/null || $(BENCH_VENV)/bin/pip install -q $(BENCH_PACKAGES) || { echo "bench-peers: error: pip install $(BENCH_PACKAGES) failed"; exit 1; }
	$(BENCH_VENV)/bin/python scripts/bench_peers.py --rounds $(BENCH_ROUNDS)

clean:
	rm -rf .build runs

# The optional Gymnasium bridge (`--env gym:ID`): a venv with the worker's
# packages: Gymnasium, Atari (ale-py ships the ROMs; OpenCV for its
# preprocessing) and Box2D + pygame (Gymnasium's LunarLander), all wheels from PyPI;
# plus onnx and onnxruntime, which the tests use to check exported ONNX models.
GYM_VENV ?= .venv-gym
GYM_PACKAGES ?= gymnasium==1.4.0 numpy ale-py opencv-python-headless box2d==2.3.10 pygame onnx onnxruntime tensorboard

# Headless Chromium, which the report's test renders report.html with.
.PHONY: deps-browser
deps-browser:
	@command -v chromium >/dev/null 2>&1 || bash scripts/deps.sh chromium
	@echo "deps-browser: $$(command -v chromium)"

# Ray for `pops sweep --engine ray` (the driver runs in the bridge's venv).
.PHONY: deps-ray
deps-ray: deps-gym
	@$(GYM_VENV)/bin/python -c "import ray" 2>/dev/null || $(GYM_VENV)/bin/pip install -q ray || { echo "deps-ray: error: pip install ray failed"; exit 1; }
	@echo "deps-ray: $(GYM_VENV) has ray"

.PHONY: deps-gym deps-gym-atari
deps-gym:
	@command -v python3 >/dev/null 2>&1 && python3 -c "import venv, ensurepip" 2>/dev/null || bash scripts/deps.sh python3 python3-venv
	@test -x $(GYM_VENV)/bin/python || python3 -m venv $(GYM_VENV) || { echo "deps-gym: error: python3 -m venv failed (install python3-venv)"; exit 1; }
	@$(GYM_VENV)/bin/python -c "import gymnasium, numpy, ale_py, cv2, Box2D, pygame, onnx, onnxruntime, tensorboard" 2>/dev/null || $(GYM_VENV)/bin/pip install -q $(GYM_PACKAGES) || { echo "deps-gym: error: pip install $(GYM_PACKAGES) failed"; exit 1; }
	@echo "deps-gym: $(GYM_VENV) has gymnasium, ale-py, OpenCV, Box2D, onnx, onnxruntime and tensorboard"

# The name earlier versions used for the Atari packages, now part of deps-gym.
deps-gym-atari: deps-gym
