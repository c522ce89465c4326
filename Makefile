# Every target sets up .venv itself, so `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test test-fast lint bench screenshots train-vision train-text sample-images chromium venv clean

venv: $(STAMP)

# torch and torchvision are pinned to the releases that lie on this kind of machine's disk
# (a looser range would pull a multi-GB build from the registry).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==2.14.1" "torchvision==0.29.1" || $(PY) -m pip install --quiet "torch>=2.6,<2.15" "torchvision>=0.21,<0.30"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/claimbot serve --demo --data data/demo

# Debian's chromium for the browser tests; installed only when absent and we are root.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "warning: chromium missing and not root; browser tests will be skipped"; fi; \
	fi

# Lint, format and type checks: part of `make test`, and quick on their own.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(STAMP) chromium lint
	$(PY) -m pytest -q -x --durations=15

# Everything but the slow lane (real models, real servers, the browser): for the edit-test loop.
test-fast: $(STAMP) lint
	$(PY) -m pytest -q -x -m "not slow and not browser"

# Refresh the README's screenshots under docs/ (the browser test, writing where README looks).
screenshots: $(STAMP) chromium
	CLAIMBOT_SCREENSHOTS=docs $(PY) -m pytest -q tests/test_ui_browser.py

bench: $(STAMP)
	$(VENV)/bin/claimbot bench

train-vision: $(STAMP)
	$(VENV)/bin/claimbot vision train --synthetic --out vision_models/weights/damage_head.pt

train-text: $(STAMP)
	$(VENV)/bin/claimbot text train

sample-images: $(STAMP)
	$(VENV)/bin/claimbot vision samples sample_images

clean:
	rm -rf $(VENV) .pytest_cache
