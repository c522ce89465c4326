"""The `claimbot` command line: thin commands over the library, clean errors, no heavy imports for --help,
every command documented."""

from __future__ import annotations

import ast
import csv
import json
import re
import socket
import subprocess
import sys
import types
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from claims.store import Store
from ui import cli
from ui.cli import main

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "gradio", "transformers", "sentence_transformers")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in (
        "CLAIMBOT_REVIEWERS",
        "CLAIMBOT_DATA_DIR",
        "GRADIO_SERVER_NAME",
        "GRADIO_SERVER_PORT",
        "CLAIMBOT_WEBHOOK_URL",
        "CLAIMBOT_WEBHOOK_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)


def run(*args, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


def fails(*args) -> click.testing.Result:
    """Invoke a command that must fail cleanly: a non-zero status and one `Error:` line, no traceback."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code in (1, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return result


def _modules_loaded_by(args: list[str], cwd: Path) -> list[str]:
    code = (
        "import sys\n"
        "from ui.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd)
    return done.stdout


def test_help_lists_every_command_without_importing_heavy_modules(tmp_path):
    out = _modules_loaded_by(["--help"], tmp_path)
    for command in main.commands:
        assert command in out
    assert "HEAVY []" in out


def test_import_orders_imports_neither_torch_nor_gradio(tmp_path):
    csv_file = tmp_path / "orders.csv"
    csv_file.write_text("order_id,email,item_name,value\nSHOP-1,a@b.co,Lamp,20\n")
    out = _modules_loaded_by(["import-orders", str(csv_file), "--data", str(tmp_path / "d")], tmp_path)
    assert "Imported 1 orders" in out and "HEAVY []" in out


def test_nothing_in_claims_imports_ui_even_lazily():
    offenders = []
    for path in sorted((ROOT / "claims").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            )
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n == "ui" or n.startswith("ui.")]
    assert offenders == []


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
    csv.write_text("order_id,email,item_name,value\nSHOP-1,a@b.co,Lamp,20\nSHOP-2,nope,Mug,3\nSHOP-3,c@d.co,Vase,abc\n")
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
    from tests._model_doubles import FakeText, FakeVision, photo_bytes

    data = tmp_path / "d"
    svc = ClaimService.open(
        data / "claims.db", demo=True, settings=Settings(reviewers="ana:pw"), vision=FakeVision(), text=FakeText()
    )
    claim = svc.submit_claim("DEMO-1001", "demo@example.com", "It arrived broken.", [photo_bytes(1)])
    sha = claim["photos"][0]["sha256"]
    svc.correct_label(claim["claim_id"], sha, "surface_damage", "ana")
    svc.close()
    result = run("export-labels", str(tmp_path / "labels"), "--data", str(data))
    assert result.exit_code == 0 and "Exported 1 labelled photos" in result.output
    assert (tmp_path / "labels" / "surface_damage" / f"{sha}.jpg").is_file()
    svc = ClaimService.open(
        data / "claims.db", demo=True, settings=Settings(reviewers="ana:pw"), vision=FakeVision(), text=FakeText()
    )
    svc.correct_label(claim["claim_id"], sha, "broken", "ana")
    svc.close()
    run("export-labels", str(tmp_path / "labels"), "--data", str(data))
    assert sorted(p.parent.name for p in (tmp_path / "labels").rglob("*.jpg")) == ["broken"]


# --- claimbot outbox --------------------------------------------------------------------------------------


def _claim_with_a_pending_refund(data: Path) -> str:
    from claims.config import Settings
    from claims.service import ClaimService
    from tests._model_doubles import BrokenEverywhere, ReadsIntent, photo_bytes

    svc = ClaimService.open(
        data / "claims.db",
        demo=True,
        settings=Settings(reviewers="ana:pw"),
        vision=BrokenEverywhere(),
        text=ReadsIntent(),
    )
    try:
        claim = svc.submit_claim("DEMO-1001", "demo@example.com", "The board arrived cracked.", [photo_bytes(1)])
        assert claim["status"] == "auto_refund"
        [message] = svc.store.outbox_rows()
        assert message["state"] == "pending"
        return claim["claim_id"]
    finally:
        svc.close()


def test_outbox_drain_delivers_a_pending_message_to_the_ledger(tmp_path):
    claim_id = _claim_with_a_pending_refund(tmp_path / "d")
    result = run("outbox", "--drain", "--data", str(tmp_path / "d"))
    assert result.exit_code == 0 and "Nothing pending in" in result.output
    with Store.open(tmp_path / "d" / "claims.db") as store:
        assert [row["state"] for row in store.outbox_rows()] == ["delivered"]
        [entry] = store.ledger_entries(claim_id)
        assert entry["idempotency_key"] == f"{claim_id}:refund:issue"


def test_outbox_without_a_database_is_a_clean_error(tmp_path):
    result = fails("outbox", "--drain", "--data", str(tmp_path / "none"))
    assert "no database at" in result.output and not (tmp_path / "none" / "claims.db").exists()


def test_outbox_refuses_a_webhook_url_without_a_secret(tmp_path, monkeypatch):
    run("seed-demo", "--data", str(tmp_path / "d"))
    monkeypatch.setenv("CLAIMBOT_WEBHOOK_URL", "http://127.0.0.1:9/")
    result = fails("outbox", "--drain", "--data", str(tmp_path / "d"))
    assert result.exit_code == 1 and "webhook_secret is empty" in result.output


def test_webhook_receiver_on_a_busy_port_is_a_clean_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = fails("webhook-receiver", "--port", str(busy.getsockname()[1]), "--secret", "s")
    assert result.exit_code == 1 and "cannot listen on 127.0.0.1:" in result.output


def test_webhook_receiver_needs_a_secret():
    result = CliRunner().invoke(main, ["webhook-receiver"])
    assert result.exit_code == 2 and "--secret" in result.output


# --- claimbot text ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reader():
    """The real complaint reader, loaded once for this module (the encoder is cached per process)."""
    from claims import complaint

    complaint.analyze_complaint("warm-up: the box arrived crushed")


def _tiny_csv(path: Path) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "wants_human", "intent", "source"])
        w.writerow(["I want to talk to a human right now", "1", "unspecified", "handwritten"])
        w.writerow(["The mug arrived broken, please refund me", "0", "refund", "template"])
        w.writerow(["Thanks, all good!", "0", "unspecified", "template"])
    return path


def test_text_evaluate_prints_json_with_the_signals_of_the_file(reader, tmp_path):
    result = run("text", "evaluate", str(_tiny_csv(tmp_path / "tiny.csv")), "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["n"] == 3
    assert set(report["signals"]) == {"wants_human", "intent_refund", "intent_replacement"}
    assert report["signals"]["wants_human"]["support"] == 1
    assert report["signals"]["wants_human"]["recall"] == 1.0
    assert report["signals"]["intent_refund"]["f1"] == 1.0


def test_text_evaluate_prints_the_report_for_the_rows_asked_for(reader, tmp_path):
    from claims.complaint import training

    path = _tiny_csv(tmp_path / "tiny.csv")
    result = run("text", "evaluate", str(path), "--where", "source=template")
    assert result.exit_code == 0
    assert result.output.strip() == training.format_report(training.evaluate(path, where="source=template"))


@pytest.mark.parametrize(
    ("content", "args", "expected"),
    [
        ("message,intent\nhello,refund\n", [], "'text' column"),
        ("text,damage_types\nbroken mug,smashed\n", [], "smashed"),
        ("text,intent\nbroken mug,refund\n", ["--where", "nocolumn"], "COLUMN=VALUE"),
        ("text,intent\nbroken mug,refund\n", ["--heads", "missing.npz"], "no such heads file"),
    ],
)
def test_text_evaluate_turns_bad_input_into_one_line(reader, tmp_path, content, args, expected):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = fails("text", "evaluate", str(path), *args)
    assert result.exit_code == 2 and expected in result.output


def test_text_evaluate_of_a_missing_file_is_a_clean_error(tmp_path):
    result = fails("text", "evaluate", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2 and "no such file" in result.output


def test_text_train_of_a_missing_corpus_is_a_clean_error(tmp_path):
    result = fails("text", "train", "--corpus", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "h.npz"))
    assert result.exit_code == 2 and not (tmp_path / "h.npz").exists()


def test_text_corpus_writes_the_train_and_test_files(tmp_path):
    result = run("text", "corpus", "--out", str(tmp_path / "c"))
    assert result.exit_code == 0
    assert re.match(r"wrote \d+ train and \d+ test messages \(\d+ handwritten\)", result.output)
    with open(tmp_path / "c" / "complaints_test.csv", newline="") as fh:
        assert "text" in next(csv.reader(fh))


# --- claimbot vision --------------------------------------------------------------------------------------


def test_vision_train_flag_without_n_uses_the_library_default():
    from vision_models.train import DEFAULT_SYNTHETIC

    assert cli.DEFAULT_SYNTHETIC == DEFAULT_SYNTHETIC


def test_vision_train_of_a_missing_folder_is_a_clean_error(tmp_path):
    result = fails("vision", "train", str(tmp_path / "missing"), "--out", str(tmp_path / "h.pt"), "--no-cache")
    assert result.exit_code == 2 and "not a directory" in result.output


def test_vision_evaluate_of_a_folder_it_cannot_score_is_a_clean_error(tmp_path):
    (tmp_path / "photos" / "cats").mkdir(parents=True)
    result = fails("vision", "evaluate", str(tmp_path / "photos"))
    assert result.exit_code == 2 and "cats" in result.output


@pytest.mark.slow
def test_vision_evaluate_prints_json_with_the_accuracy(tmp_path):
    from vision_models.labels import DAMAGE_LABELS
    from vision_models.synth import render_scene

    for k, label in enumerate(DAMAGE_LABELS):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for i in range(2):
            render_scene(label, 100 * k + i, (224, 168)).save(tmp_path / "photos" / label / f"{i}.jpg")
    result = run("vision", "evaluate", str(tmp_path / "photos"), "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["n"] == 12 and 0.0 <= report["accuracy"] <= 1.0 and report["labels"] == list(DAMAGE_LABELS)


def test_vision_samples_into_a_file_is_a_clean_error(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    result = fails("vision", "samples", str(tmp_path / "taken" / "photos"))
    assert result.exit_code == 2 and "cannot write to" in result.output


# --- claimbot bench ---------------------------------------------------------------------------------------


def test_bench_refuses_an_unknown_benchmark_before_running_any():
    result = fails("bench", "vision", "speed")
    assert result.exit_code == 2 and "unknown benchmark speed" in result.output and "e2e" in result.output


def test_bench_outside_a_source_checkout_says_to_run_it_from_the_repository(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site-packages" / "ui" / "cli.py"))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p and Path(p).resolve() != ROOT])
    for name in [m for m in sys.modules if m == "bench" or m.startswith("bench.")]:
        monkeypatch.delitem(sys.modules, name)
    result = fails("bench")
    assert result.exit_code == 1 and "from a checkout of the repository" in result.output


# --- documentation ----------------------------------------------------------------------------------------


def _command_paths(group: click.Group, prefix: str = "claimbot") -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        paths.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            paths += _command_paths(command, f"{prefix} {name}")
    return paths


def test_every_command_is_documented_in_the_api_page():
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = page.split("## Command line", 1)[1].split("\n## ", 1)[0]
    missing = [path for path in _command_paths(main) if not re.search(re.escape(path) + r"\b(?!-)", section)]
    assert missing == []


def _code_in(markdown: str) -> str:
    fenced = re.findall(r"```[a-z]*\n(.*?)```", markdown, re.S)
    inline = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", markdown, flags=re.S))
    return "\n".join(fenced + inline)


def test_every_claimbot_command_the_docs_show_exists():
    known = set(_command_paths(main))
    groups = {f"claimbot {name}" for name, c in main.commands.items() if isinstance(c, click.Group)}
    wrong = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for first, second in re.findall(r"\bclaimbot ([a-z][\w-]*)(?: ([a-z][\w-]*))?", _code_in(page.read_text())):
            shown = f"claimbot {first} {second}" if f"claimbot {first}" in groups else f"claimbot {first}"
            if shown not in known:
                wrong.append(f"{page.name}: {shown}")
    assert wrong == []
