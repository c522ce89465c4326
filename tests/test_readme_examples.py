"""README's API examples are real: their python blocks run, in order, against a live server."""

from __future__ import annotations

import re

import pytest

from tests._ui_support import REPO, REVIEWERS, make_photo, open_service, running_server
from ui.app import build_app

pytestmark = pytest.mark.slow

README_URL = "http://127.0.0.1:7860"
README_LOGIN = '("ann", "your-password")'


def api_examples() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- section:api -->(.*?)<!-- /section:api -->", readme, re.S)
    assert section, "README has no api section"
    return re.findall(r"```python\n(.*?)```", section.group(1), re.S)


def test_readme_has_examples_for_filing_polling_and_reviewing():
    code = "\n".join(api_examples())
    for endpoint in (
        "/submit_claim",
        "/claim_status",
        "/request_human",
        "/add_evidence",
        "/review_queue",
        "/review_case",
        "/review_decide",
    ):
        assert f'api_name="{endpoint}"' in code, endpoint
    assert README_URL in code and README_LOGIN in code


def test_readme_api_examples_run_against_a_live_server(tmp_path, monkeypatch, capsys):
    service = open_service(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    for seed, name in enumerate(("box.jpg", "board.jpg", "underside.jpg"), start=11):
        make_photo(tmp_path / name, seed=seed)
    try:
        with running_server(build_app(service)) as url:
            namespace: dict = {}
            for block in api_examples():
                code = block.replace(README_URL, url).replace(README_LOGIN, repr(("ann", REVIEWERS["ann"])))
                exec(compile(code, "README.md (api section)", "exec"), namespace)
    finally:
        service.close()
    out = capsys.readouterr().out
    assert namespace["claim"]["status"] == "auto_refund"
    assert "in_review high" in out
    assert len(namespace["status"]["photos"]) == 3
    assert namespace["decided"]["status"] == "approved_refund"
    assert namespace["case"]["claim"]["claim_id"] == namespace["claim_id"]
