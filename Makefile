# pops: two commands on a fresh Debian machine with the Swift toolchain:
#   make demo   installs missing system packages, builds release, runs the main job
#   make test   installs missing system packages, runs the whole test suite

SWIFT ?= swift
# Debian packages the build needs: Box2D for LunarLander.
DEB_PACKAGES ?= libbox2d-dev
DEMO_OUT ?= runs/demo

.PHONY: deps build demo test bench clean

deps:
	@bash scripts/deps.sh $(DEB_PACKAGES)

build: deps
	$(SWIFT) build -c release

demo: build
	@bash scripts/demo.sh $(DEMO_OUT)

# Tests run on the release build: the training smoke tests need optimised code.
test: deps deps-gym-atari
	$(SWIFT) test -c release

bench: deps
	$(SWIFT) build -c release --product pops-bench
	.build/release/pops-bench all

clean:
	rm -rf .build runs

# The optional Gymnasium bridge (`--env gym:ID`): a venv with the worker's packages.
GYM_VENV ?= .venv-gym
GYM_PACKAGES ?= gymnasium==1.4.0 numpy

.PHONY: deps-gym
deps-gym:
	@command -v python3 >/dev/null 2>&1 && python3 -c "import venv, ensurepip" 2>/dev/null || bash scripts/deps.sh python3 python3-venv
	@test -x $(GYM_VENV)/bin/python || python3 -m venv $(GYM_VENV) || { echo "deps-gym: error: python3 -m venv failed (install python3-venv)"; exit 1; }
	@$(GYM_VENV)/bin/python -c "import gymnasium, numpy" 2>/dev/null || $(GYM_VENV)/bin/pip install -q $(GYM_PACKAGES) || { echo "deps-gym: error: pip install $(GYM_PACKAGES) failed"; exit 1; }
	@echo "deps-gym: $(GYM_VENV) has gymnasium and numpy"

# Atari for the bridge (`gym:ALE/Pong-v5?actions=1,2,3`): ale-py ships the ROMs.
.PHONY: deps-gym-atari
deps-gym-atari: deps-gym
	@$(GYM_VENV)/bin/python -c "import ale_py, cv2" 2>/dev/null || $(GYM_VENV)/bin/pip install -q ale-py opencv-python-headless || { echo "deps-gym-atari: error: pip install ale-py opencv-python-headless failed"; exit 1; }
	@echo "deps-gym-atari: $(GYM_VENV) has ale-py"
