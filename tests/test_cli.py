"""The `claimbot` command line: thin commands over the store, clean errors, no heavy imports for --help."""
from __future__ import annotations

import subprocess
import sys
import types

import pytest
from click.testing import CliRunner

from claims.cli import main
from claims.store import Store


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("CLAIMBOT_REVIEWERS", "CLAIMBOT_DATA_DIR", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"):
        monkeypatch.delenv(name, raising=False)


def run(*args, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


def test_help_lists_every_command_without_importing_heavy_modules():
    code = (
        "import sys\n"
        "from claims.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('torch', 'gradio', 'transformers', 'sentence_transformers') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for command in ("serve", "seed-demo", "import-orders", "backup"):
        assert command in out
    assert "HEAVY []" in out


def test_seed_demo_creates_a_fresh_database_with_demo_orders(tmp_path):
    result = run("seed-demo", "--data", str(tmp_path / "d"))
    assert result.exit_code == 0 and "Seeded 10 demo orders (DEMO-1001 ... DEMO-1010)" in result.output
    with Store.open(tmp_path / "d" / "claims.db") as store:
        assert store.count_orders() == 10 and store.get_order("DEMO-1004") is not None


def test_import_orders_adds_valid_rows(tmp_path):
    csv = tmp_path / "orders.csv"
    csv.write_text("order_id,email,item_name,value,delivered_at,in_stock\nSHOP-9,a@b.co,Lamp,20,2026-01-02,no\n")
    result = run("import-orders", str(csv), "--data", str(tmp_path / "d"))
    assert result.exit_code == 0 and "Imported 1 orders" in result.output
    with Store.open(tmp_path / "d" / "claims.db") as store:
        order = store.get_order("SHOP-9")
        assert order.item_name == "Lamp" and not order.in_stock


def test_import_orders_names_bad_lines_and_imports_nothing(tmp_path):
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "order_id,email,item_name,value\nSHOP-1,a@b.co,Lamp,20\nSHOP-2,nope,Mug,3\nSHOP-3,c@d.co,Vase,abc\n"
    )
    result = CliRunner().invoke(main, ["import-orders", str(csv), "--data", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "line 3:" in result.output and "line 4:" in result.output and "nothing was imported" in result.output
    assert "Traceback" not in result.output
    with Store.open(tmp_path / "d" / "claims.db") as store:
        assert store.get_order("SHOP-1") is None


def test_backup_copies_the_database(tmp_path):
    run("seed-demo", "--data", str(tmp_path / "d"))
    result = run("backup", str(tmp_path / "copy.db"), "--data", str(tmp_path / "d"))
    assert result.exit_code == 0
    with Store.open(tmp_path / "copy.db") as copy:
        assert copy.count_orders() == 10


def test_backup_without_a_database_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(main, ["backup", str(tmp_path / "copy.db"), "--data", str(tmp_path / "none")])
    assert result.exit_code == 1 and "no database at" in result.output


@pytest.fixture
def fake_ui(monkeypatch):
    calls = []
    module = types.ModuleType("ui.app")
    module.serve = lambda **kw: calls.append(kw)
    monkeypatch.setitem(sys.modules, "ui.app", module)
    return calls


def test_serve_prints_a_generated_reviewer_password_once(tmp_path, fake_ui):
    first = CliRunner().invoke(main, ["serve", "--data", str(tmp_path / "d")])
    assert first.exit_code == 0, first.output
    assert "Created reviewer account 'reviewer' with password:" in first.output
    password = first.output.split("password: ")[1].split()[0]
    second = CliRunner().invoke(main, ["serve", "--data", str(tmp_path / "d")])
    assert password not in second.output and "Created reviewer" not in second.output
    with Store.open(tmp_path / "d" / "claims.db") as store:
        (row,) = store.reviewers()
        assert password not in row["password_hash"]
    assert fake_ui[0]["host"] == "127.0.0.1" and fake_ui[0]["port"] == 7860


def test_serve_takes_host_and_port_from_gradio_environment(tmp_path, fake_ui, monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8123")
    monkeypatch.setenv("CLAIMBOT_REVIEWERS", "ana:secret-words")
    result = CliRunner().invoke(main, ["serve", "--data", str(tmp_path / "d")])
    assert result.exit_code == 0 and "Created reviewer" not in result.output
    call = fake_ui[0]
    assert (call["host"], call["port"]) == ("0.0.0.0", 8123)
    assert call["settings"].data_dir == tmp_path / "d"


def test_serve_refuses_missing_vision_weights(tmp_path, fake_ui):
    result = CliRunner().invoke(main, ["serve", "--vision-weights", str(tmp_path / "nope.pt")])
    assert result.exit_code == 1 and "no weights file" in result.output and fake_ui == []


def test_serve_refuses_a_malformed_reviewers_setting(tmp_path, fake_ui, monkeypatch):
    monkeypatch.setenv("CLAIMBOT_REVIEWERS", "no-password-here")
    result = CliRunner().invoke(main, ["serve", "--data", str(tmp_path / "d")])
    assert result.exit_code == 1 and "not 'name:password'" in result.output and fake_ui == []


def test_export_labels_writes_an_image_folder_of_reviewer_corrections(tmp_path):
    from claims.config import Settings
    from claims.service import ClaimService
    from tests.test_service import FakeText, FakeVision, photo_bytes

    data = tmp_path / "d"
    svc = ClaimService.open(data / "claims.db", demo=True, settings=Settings(reviewers="ana:pw"),
                            vision=FakeVision(), text=FakeText())
    claim = svc.submit_claim("DEMO-1001", "demo@example.com", "It arrived broken.", [photo_bytes(1)])
    sha = claim["photos"][0]["sha256"]
    svc.correct_label(claim["claim_id"], sha, "surface_damage", "ana")
    svc.close()
    result = run("export-labels", str(tmp_path / "labels"), "--data", str(data))
    assert result.exit_code == 0 and "Exported 1 labelled photos" in result.output
    assert (tmp_path / "labels" / "surface_damage" / f"{sha}.jpg").is_file()
    svc = ClaimService.open(data / "claims.db", demo=True, settings=Settings(reviewers="ana:pw"),
                            vision=FakeVision(), text=FakeText())
    svc.correct_label(claim["claim_id"], sha, "broken", "ana")
    svc.close()
    run("export-labels", str(tmp_path / "labels"), "--data", str(data))
    assert sorted(p.parent.name for p in (tmp_path / "labels").rglob("*.jpg")) == ["broken"]
