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
test: deps
	$(SWIFT) test -c release

bench: deps
	$(SWIFT) build -c release --product pops-bench
	.build/release/pops-bench all

clean:
	rm -rf .build runs
