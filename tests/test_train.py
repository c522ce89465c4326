"""Training the head: weights and model card written, clear signals learnt, binary folders give a binary head."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from vision_models.classifier import Head, load_damage_classifier
from vision_models.features import FEATURE_KIND, TUNED_KIND
from vision_models.image_folder import scan_image_folder
from vision_models.labels import BINARY_LABELS, DAMAGE_LABELS
from vision_models.train import _block_inputs, head_logits, main, train

pytestmark = pytest.mark.slow  # trains heads on the real backbone


def _photo(colour: tuple[int, int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = np.asarray(colour, np.float32)[None, None]
    noise = rng.normal(0, 25, (96, 128, 3))
    stripes = (np.sin(np.arange(128) * rng.uniform(0.2, 0.5)) * 20)[None, :, None]
    return Image.fromarray(np.clip(base + noise + stripes, 0, 255).astype(np.uint8))


def _folder(root, classes: dict[str, tuple[int, int, int]], per_class: int = 6):
    for k, (name, colour) in enumerate(classes.items()):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            _photo(colour, 100 * k + i).save(root / name / f"{i}.jpg", quality=90)
    return root


RED, BLUE = (200, 40, 30), (30, 60, 200)


@pytest.fixture(scope="module")
def taxonomy_run(tmp_path_factory):
    root = _folder(tmp_path_factory.mktemp("photos"), {"broken": RED, "no_damage": BLUE})
    out = tmp_path_factory.mktemp("out") / "head.pt"
    card = train(root, out, views=2, holdout=0.25, cache_dir=tmp_path_factory.mktemp("cache"), log=lambda *_: None)
    return root, out, card


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory):
    root = _folder(tmp_path_factory.mktemp("binary"), {"damaged": RED, "intact": BLUE})
    out = tmp_path_factory.mktemp("out") / "binary.pt"
    card = train(root, out, views=2, holdout=0.25, cache_dir=tmp_path_factory.mktemp("cache"), log=lambda *_: None)
    return root, out, card


def test_training_writes_weights_and_a_model_card(taxonomy_run):
    _, out, card = taxonomy_run
    assert out.is_file()
    written = json.loads(out.with_suffix(".json").read_text())
    assert written == json.loads(json.dumps(card))
    assert written["labels"] == list(DAMAGE_LABELS)
    assert written["binary"] is False
    assert written["data"]["own_photos"] == 12
    assert written["data"]["per_class"]["broken"] == 6
    assert written["training"]["heldout_photos"] == 4
    assert written["training"]["temperature"] > 0
    assert {"accuracy", "binary_accuracy", "ece", "confusion", "per_class"} <= set(written["metrics_heldout"])
    assert "efficientnet-lite0" in written["backbone"]
    assert written["created"]


def test_trained_head_learns_a_clear_signal(taxonomy_run):
    _, out, card = taxonomy_run
    clf = load_damage_classifier(out)
    red = clf.predict(_photo(RED, 999))
    blue = clf.predict(_photo(BLUE, 998))
    assert red.label == "broken"
    assert blue.label == "no_damage"
    assert red.damaged_probability > 0.5 > blue.damaged_probability
    assert card["metrics_heldout"]["binary_accuracy"] == 1.0


def test_trained_head_differs_from_the_shipped_one(taxonomy_run):
    _, out, _ = taxonomy_run
    shipped = load_damage_classifier().predict(_photo(RED, 5)).probabilities
    trained = load_damage_classifier(out).predict(_photo(RED, 5)).probabilities
    assert trained != pytest.approx(shipped, abs=1e-3)


def test_binary_folders_train_a_binary_head(binary_run):
    _, out, card = binary_run
    assert card["binary"] is True
    assert card["labels"] == list(BINARY_LABELS)
    assert Head.load(out).binary
    clf = load_damage_classifier(out)
    assert clf.predict(_photo(RED, 77)).damaged
    assert not clf.predict(_photo(BLUE, 78)).damaged


def test_own_photos_fine_tune_the_last_blocks(taxonomy_run):
    _, out, card = taxonomy_run
    assert card["feature_kind"] == TUNED_KIND
    assert card["training"]["fine_tuned"]["epochs"] > 0
    assert Head.load(out).tail is not None
    # the held-out photos are also scored by the linear head on the frozen backbone, for comparison
    assert card["metrics_heldout"]["frozen_backbone"]["binary_accuracy"] is not None


def test_serving_a_fine_tuned_head_matches_training(taxonomy_run):
    _, out, _ = taxonomy_run
    head = Head.load(out)
    photo = _photo(RED, 4321)
    expected = torch.softmax(head_logits(head, _block_inputs([photo])) / head.temperature, dim=1)[0]
    served = load_damage_classifier(out).predict(photo).probabilities
    assert [served[label] for label in head.labels] == pytest.approx(expected.tolist(), abs=1e-4)


def test_no_tune_keeps_the_backbone_frozen(taxonomy_run, tmp_path):
    root, _, _ = taxonomy_run
    code = main(
        [str(root), "--out", str(tmp_path / "f.pt"), "--no-tune", "--views", "1", "--cache", str(tmp_path / "c")]
    )
    assert code == 0
    head = Head.load(tmp_path / "f.pt")
    assert head.tail is None and head.feature_kind == FEATURE_KIND
    training = json.loads((tmp_path / "f.json").read_text())["training"]
    assert training["fine_tuned"] is None
    assert (
        training["command"]
        == f"python -m vision_models.train {root} --out {tmp_path / 'f.pt'} --no-tune --views 1 --cache {tmp_path / 'c'}"
    )


@pytest.mark.parametrize("holdout", [-0.1, 1.0])
def test_library_refuses_a_holdout_outside_zero_to_one(tmp_path, holdout):
    with pytest.raises(ValueError, match="holdout"):
        train(tmp_path, tmp_path / "h.pt", holdout=holdout)


def test_scan_rejects_unknown_class_folders(tmp_path):
    _folder(tmp_path, {"dented": RED}, per_class=1)
    with pytest.raises(ValueError, match="dented"):
        scan_image_folder(tmp_path)


def test_cli_needs_a_folder_or_synthetic_scenes(tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path / "h.pt")])


def test_cli_reports_a_missing_folder(tmp_path, capsys):
    assert main([str(tmp_path / "missing"), "--out", str(tmp_path / "h.pt")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_cli_trains_on_synthetic_scenes_alone(tmp_path):
    code = main(["--synthetic", "12", "--views", "1", "--out", str(tmp_path / "s.pt"), "--cache", str(tmp_path / "c")])
    assert code == 0
    card = json.loads((tmp_path / "s.json").read_text())
    assert card["data"]["synthetic_scenes"] == 14  # two intact scenes per damage-label scene share
    assert card["data"]["own_photos"] == 0
    assert card["metrics_heldout"]["heldout_source"] == "synthetic scenes"


def test_synth_version_covers_every_part_of_the_scene_generator(monkeypatch):
    import inspect

    from vision_models._training import datasets

    before = datasets.synth_version()
    real_getsource = inspect.getsource
    monkeypatch.setattr(
        inspect,
        "getsource",
        lambda module: (
            real_getsource(module) + ("# changed" if module.__name__ == "vision_models._synth.damage" else "")
        ),
    )
    assert datasets.synth_version() != before


def test_serving_imports_neither_the_training_parts_nor_the_scene_generator():
    import json
    import subprocess
    import sys
    from pathlib import Path

    code = "import json, sys\nimport vision_models.classifier, claims.photos\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    loaded = json.loads(result.stdout)
    private = ("vision_models._training", "vision_models._synth")
    assert [m for m in loaded if any(m == p or m.startswith(p + ".") for p in private)] == []
