"""The complaint reader: public API on hard cases, evidence, summary, lazy import, package layout, test-file
floors (its command line, `claimbot text`, is tested in test_cli.py)."""

from __future__ import annotations

import ast
import csv
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from claims import complaint
from claims.complaint import training
from claims.complaint.heads import Heads
from claims.complaint.training import evaluate_rows
from claims.models import ComplaintAnalysis

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def analyze():
    """The real reader, loaded once for this module (the encoder is cached per process)."""
    complaint.analyze_complaint("warm-up: the box arrived crushed")
    return complaint.analyze_complaint


# --- loading --------------------------------------------------------------------------------------


def test_importing_claims_and_the_reader_loads_no_model_library():
    code = (
        "import sys, claims, claims.complaint, claims.models; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'transformers', 'sentence_transformers')); print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


# --- package layout: serving never reaches training or the corpus ---------------------------------

PACKAGE = "claims.complaint"
PACKAGE_DIR = ROOT / "claims" / "complaint"
OFFLINE_ONLY = {f"{PACKAGE}.training", f"{PACKAGE}.corpus", f"{PACKAGE}.corpus_templates"}


def test_importing_the_reader_leaves_training_corpus_and_model_libraries_unloaded():
    code = (
        "import sys, claims.complaint; "
        "print(sorted(m for m in sys.modules if m.startswith('claims.complaint.') or m.split('.')[0] in "
        "('torch', 'transformers', 'sentence_transformers')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = set(ast.literal_eval(out.stdout.strip()))
    assert f"{PACKAGE}.reader" in loaded  # the probe sees the package's modules at all
    assert not loaded & (OFFLINE_ONLY | {"torch", "transformers", "sentence_transformers"})


def _package_imports() -> dict[str, set[str]]:
    """Module -> the modules of this package it imports anywhere (lazy imports inside functions included)."""
    modules = {f"{PACKAGE}.{p.stem}" if p.stem != "__init__" else PACKAGE: p for p in PACKAGE_DIR.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.stem == "__init__"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: resolve against this module's package
                    parts = (name if is_package else name.rsplit(".", 1)[0]).split(".")
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_reports_a_cycle_and_accepts_a_chain():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_complaint_package_modules_import_each_other_without_a_cycle():
    graph = _package_imports()
    assert f"{PACKAGE}.reader" in graph[PACKAGE] and f"{PACKAGE}.reader" in graph[f"{PACKAGE}.training"]
    assert _find_cycle(graph) is None


def test_serving_modules_never_import_training_or_the_corpus_even_lazily():
    graph = _package_imports()
    serving = set(graph) - OFFLINE_ONLY
    assert {PACKAGE, f"{PACKAGE}.reader", f"{PACKAGE}.encoder", f"{PACKAGE}.heads", f"{PACKAGE}.lexicon"} <= serving
    reached, todo = set(), [PACKAGE]
    while todo:
        for nxt in graph[todo.pop()] - reached:
            reached.add(nxt)
            todo.append(nxt)
    assert not reached & OFFLINE_ONLY
    assert {m: graph[m] & OFFLINE_ONLY for m in serving} == {m: set() for m in serving}


def test_model_version_is_stamped_on_every_analysis(analyze):
    assert analyze("the mug is broken").model_version == complaint.MODEL_VERSION
    assert complaint.MODEL_VERSION


# --- the hard negatives, sarcasm, requests for a person -----------------------------------


def test_not_upset_request_for_a_new_one_is_calm_and_asks_for_replacement(analyze):
    a = analyze("I'm not upset, just send a new one")
    assert (a.frustrated, a.intent, a.wants_human) == (False, "replacement", False)


def test_crushed_box_with_fine_lamp_is_packaging_damage_only(analyze):
    a = analyze("the box was crushed but the lamp is fine")
    assert "crushed_packaging" in a.damage_types
    assert "broken" not in a.damage_types


def test_declined_refund_with_replacement_is_replacement(analyze):
    assert analyze("no need for a refund, a replacement is fine").intent == "replacement"


def test_declined_replacement_with_refund_is_refund(analyze):
    assert analyze("I don't want another one, the same thing will happen again. Please refund me.").intent == "refund"


@pytest.mark.parametrize(
    "text",
    [
        "great, another broken mug, thanks a lot",
        "Love waiting 3 weeks for a smashed box",
        "Oh wonderful. The vase I waited a month for is in four pieces. Really great job, guys.",
    ],
)
def test_sarcasm_reads_as_frustrated_and_negative(analyze, text):
    a = analyze(text)
    assert a.frustrated and a.frustration_score >= 0.5
    assert a.sentiment < 0


@pytest.mark.parametrize(
    "text",
    [
        "Could I please speak to someone about my order?",
        "Is it possible to talk to a real person?",
        "Please have someone call me, it's easier on the phone.",
        "representative",
        "human please",
        "LET ME TALK TO A HUMAN!!! this bot is useless",
        "I demand to speak to your manager.",
        "Stop sending me bot replies and put me through to an agent!",
    ],
)
def test_explicit_requests_for_a_person_polite_or_furious_are_recognised(analyze, text):
    a = analyze(text)
    assert a.wants_human
    assert a.evidence["wants_human"]


@pytest.mark.parametrize(
    "text",
    [
        "No need to call me, just send the replacement please.",
        "My phone arrived with a cracked screen.",
        "Your agent Priya sorted everything out yesterday, thank you so much!",
        "The delivery driver left the box in the rain.",
    ],
)
def test_mentions_of_people_or_phones_are_not_requests(analyze, text):
    assert not analyze(text).wants_human


def test_furious_request_is_frustrated_and_polite_one_is_not(analyze):
    assert analyze("GET ME A REAL PERSON NOW, this is ridiculous!!!").frustrated
    assert not analyze("Hello, could a representative call me when convenient? Thank you.").frustrated


@pytest.mark.parametrize(
    "text,sign",
    [
        ("Thank you so much, the replacement arrived quickly and it's perfect!", 1),
        ("@JetBlue the crew on my flight was lovely, thanks! 😊", 1),
        ("My flight was cancelled and nobody told me.", -1),
        ("The lamp arrived cracked. Could you send a new one? Thanks.", -1),
    ],
)
def test_sentiment_sign(analyze, text, sign):
    a = analyze(text)
    assert np.sign(a.sentiment) == sign
    assert -1 <= a.sentiment <= 1


# --- damage types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,label",
    [
        ("The vase arrived shattered.", "broken"),
        ("The parcel was left in the rain and the books are soaked.", "water_damage"),
        ("The package was torn open and the tape was cut.", "torn_packaging"),
        ("The box was completely crushed.", "crushed_packaging"),
        ("The table top has deep scratches.", "surface_damage"),
    ],
)
def test_damage_type_mentioned_in_the_text_is_found(analyze, text, label):
    assert label in analyze(text).damage_types


def test_damage_types_are_taxonomy_labels_and_never_combine_no_damage_with_damage(analyze):
    a = analyze("The box was crushed, the mug is cracked, and the rest is fine.")
    assert set(a.damage_types) <= {
        "no_damage",
        "crushed_packaging",
        "torn_packaging",
        "water_damage",
        "broken",
        "surface_damage",
    }
    assert not ("no_damage" in a.damage_types and len(a.damage_types) > 1)


# --- summary and evidence -------------------------------------------------------------------------

LONG_RANT = (
    "So I ordered a $400 espresso machine three weeks ago. It shows up today, the box looks like it was run over "
    "by a truck, and the machine inside has a cracked water tank. I called support and waited 45 minutes!!! "
    "This is ridiculous. I want my money back and I want to talk to a manager. " * 3
)


@pytest.mark.parametrize("text", [LONG_RANT, "arrived smashed", "Thanks!", "?"])
def test_summary_is_one_short_line(analyze, text):
    summary = analyze(text).summary
    assert summary and "\n" not in summary and len(summary) < 160


def test_summary_names_item_wish_and_tone(analyze):
    summary = analyze("The mug arrived broken and I'm furious. I want a refund!").summary
    assert "mug" in summary and "refund" in summary
    assert summary.split(" — ")[0] in {"Angry", "Frustrated"}


@pytest.mark.parametrize(
    "text",
    [
        LONG_RANT,
        "great, another broken mug, thanks a lot",
        "LET ME TALK TO A HUMAN!!! The box was crushed and the lamp is SMASHED. Refund me 😡",
        "no need for a refund, a replacement is fine",
    ],
)
def test_every_evidence_phrase_occurs_in_the_text(analyze, text):
    a = analyze(text)
    assert a.evidence
    for signal, phrases in a.evidence.items():
        assert phrases, signal
        for phrase in phrases:
            assert phrase in text, (signal, phrase)


def test_evidence_keys_follow_the_signals(analyze):
    a = analyze("LET ME TALK TO A HUMAN!!! The lamp is SMASHED. Refund me now, this is ridiculous")
    assert {"intent", "wants_human", "frustrated", "damage_types"} <= set(a.evidence)
    assert any("refund" in p.lower() for p in a.evidence["intent"])


# --- batching -------------------------------------------------------------------------------------


def test_batch_matches_single_calls_and_keeps_order(analyze):
    texts = ["arrived smashed, refund please", "", "thank you, all good!", "agent", "the box was soaked"]
    batch = complaint.analyze_complaints(texts)
    assert len(batch) == len(texts)
    for text, a in zip(texts, batch):
        single = analyze(text)
        assert (a.intent, a.wants_human, a.frustrated, a.damage_types) == (
            single.intent,
            single.wants_human,
            single.frustrated,
            single.damage_types,
        )
        assert a.sentiment == pytest.approx(single.sentiment, abs=0.02)


def test_empty_message_gets_a_neutral_analysis(analyze):
    a = complaint.analyze_complaints(["   "])[0]
    assert a == ComplaintAnalysis(summary=a.summary, model_version=complaint.MODEL_VERSION)


def test_a_single_string_is_refused_by_the_batch_function():
    with pytest.raises(TypeError):
        complaint.analyze_complaints("the mug is broken")


def test_concurrent_analyses_agree_with_sequential_ones(analyze):
    texts = [f"order {i}: the lamp arrived broken, I want a refund" if i % 2 else "agent please" for i in range(8)]
    expected = [analyze(t).intent + str(analyze(t).wants_human) for t in texts]
    got: dict[int, str] = {}

    def work(i: int) -> None:
        a = complaint.analyze_complaint(texts[i])
        got[i] = a.intent + str(a.wants_human)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [got[i] for i in range(len(texts))] == expected


# --- heads ----------------------------------------------------------------------------------------


def test_heads_fit_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    heads = training.fit_heads(x, {"wants_human": y})
    assert (heads.predict(x)["wants_human"].argmax(1) == y).mean() > 0.95
    heads.save(tmp_path / "h.npz")
    loaded = Heads.load(tmp_path / "h.npz")
    np.testing.assert_allclose(loaded.predict(x)["wants_human"], heads.predict(x)["wants_human"], atol=1e-5)


def test_train_writes_heads_and_a_card_that_the_reader_can_load(analyze, tmp_path):
    corpus = tmp_path / "tiny.csv"
    rows = [
        ("I want a refund, the mug is broken", "refund", "0", "0", "neg", "broken"),
        ("please send a replacement lamp", "replacement", "0", "0", "neg", ""),
        ("LET ME TALK TO A HUMAN this is ridiculous!!!", "unspecified", "1", "1", "neg", ""),
        ("thanks, all good!", "unspecified", "0", "0", "pos", "no_damage"),
        ("the box was soaked", "unspecified", "0", "0", "neu", "water_damage"),
        ("refund me now, worst service ever", "refund", "0", "1", "neg", ""),
    ]
    with open(corpus, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "intent", "wants_human", "frustrated", "sentiment", "damage_types"])
        w.writerows(rows)
    out = tmp_path / "heads.npz"
    card = training.train(corpus, out=out)
    assert card["n_train"] == len(rows)
    assert json.loads(out.with_suffix(".json").read_text())["model_version"] == complaint.MODEL_VERSION
    heads = Heads.load(out)
    assert {"intent", "sentiment", "wants_human", "frustrated", "damage_broken"} <= set(heads.weights)
    x = complaint.feature_matrix([r[0] for r in rows], [complaint.lexicon.read(r[0]) for r in rows])
    assert heads.predict(x)["intent"].argmax(1).tolist() == [0, 1, 2, 2, 2, 0]


# --- evaluate CLI ---------------------------------------------------------------------------------


def test_evaluate_rows_counts_precision_and_recall_exactly():
    rows = [
        {
            "text": "a",
            "intent": "refund",
            "wants_human": "1",
            "frustrated": "yes",
            "damage_types": "broken;water_damage",
            "sentiment": "neg",
        },
        {
            "text": "b",
            "intent": "refund",
            "wants_human": "0",
            "frustrated": "no",
            "damage_types": "",
            "sentiment": "pos",
        },
        {
            "text": "c",
            "intent": "unspecified",
            "wants_human": "true",
            "frustrated": "0",
            "damage_types": "broken",
            "sentiment": "neu",
        },
        {
            "text": "d",
            "intent": "replacement",
            "wants_human": "false",
            "frustrated": "1",
            "damage_types": "",
            "sentiment": "pos",
        },
    ]
    preds = [
        ComplaintAnalysis(intent="refund", wants_human=True, frustrated=True, damage_types=("broken",), sentiment=-0.5),
        ComplaintAnalysis(intent="unspecified", wants_human=True, sentiment=0.4),
        ComplaintAnalysis(intent="refund", wants_human=False, damage_types=("broken",), sentiment=0.9),
        ComplaintAnalysis(intent="replacement", frustrated=True, sentiment=-0.2),
    ]
    report = evaluate_rows(rows, preds)
    s = report["signals"]
    # refund: tp=1 (a), fp=1 (c), fn=1 (b)
    assert (s["intent_refund"]["precision"], s["intent_refund"]["recall"]) == (0.5, 0.5)
    # person: tp=1 (a), fp=1 (b), fn=1 (c)
    assert (s["wants_human"]["tp"], s["wants_human"]["fp"], s["wants_human"]["fn"]) == (1, 1, 1)
    assert s["frustrated"]["f1"] == 1.0
    # damage, micro: tp=2 (a broken, c broken), fn=1 (a water), fp=0
    assert s["damage_types"]["precision"] == 1.0 and s["damage_types"]["recall"] == pytest.approx(0.6667, abs=1e-4)
    # sentiment sign on pos/neg rows only: a right, b right, d wrong
    assert report["sentiment_sign_accuracy"] == pytest.approx(0.6667, abs=1e-4)
    assert report["sentiment_sign_support"] == 3
    assert report["intent_accuracy"] == 0.5


# --- scores on the project's own test file --------------------------------------------------------


@pytest.mark.slow
def test_scores_on_the_project_test_file_stay_above_floors(analyze):
    report = training.evaluate(complaint.DATA_DIR / "complaints_test.csv")
    s = report["signals"]
    assert report["n"] >= 300
    assert s["frustrated"]["f1"] >= 0.85
    assert s["wants_human"]["recall"] >= 0.9 and s["wants_human"]["precision"] >= 0.85
    assert s["intent_refund"]["f1"] >= 0.88
    assert s["damage_types"]["f1"] >= 0.8
    assert report["sentiment_sign_accuracy"] >= 0.9


def test_corpus_files_have_the_documented_columns_and_enough_messages():
    rows = []
    for name in ("complaints_train.csv", "complaints_test.csv"):
        with open(complaint.DATA_DIR / name, newline="", encoding="utf-8") as fh:
            part = list(csv.DictReader(fh))
        assert set(part[0]) >= {"text", "intent", "wants_human", "frustrated", "sentiment", "damage_types"}
        rows += part
    assert len(rows) >= 800

    def texts(name: str) -> set[str]:
        with open(complaint.DATA_DIR / name, encoding="utf-8") as file:
            return {r["text"] for r in csv.DictReader(file)}

    train, test = texts("complaints_train.csv"), texts("complaints_test.csv")
    assert not train & test
