"""Fixtures shared by the test files. Model doubles live in tests/_model_doubles.py, server helpers in
tests/_ui_support.py; the real models are loaded only by tests marked `slow`."""

from __future__ import annotations

import os

import pytest

# The same environment `make test` sets, for a plain `pytest` run: no analytics calls, no model hub.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from claims.config import Settings
from claims.service import ClaimService
from tests._model_doubles import FakeText, FakeVision


@pytest.fixture
def make_service(tmp_path):
    opened = []

    def make(vision=None, text=None, **settings):
        settings.setdefault("reviewers", "ana:correct-horse,bob:battery-staple")
        svc = ClaimService.open(
            tmp_path / "data" / "claims.db",
            demo=True,
            settings=Settings(**settings),
            vision=vision or FakeVision(),
            text=text or FakeText(),
        )
        opened.append(svc)
        return svc

    yield make
    for svc in opened:
        svc.close()


@pytest.fixture
def svc(make_service):
    return make_service()
