"""Evaluation command: text and JSON reports, confusion PNG, binary view for damaged/intact folders."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from vision_models.evaluate import evaluate_folder, main
from vision_models.labels import DAMAGE_LABELS
from vision_models.metrics import classification_report, expected_calibration_error, fit_temperature
from vision_models.train import train

pytestmark = pytest.mark.slow  # runs the real classifier over image folders


def _photo(colour, seed):
    rng = np.random.default_rng(seed)
    arr = np.clip(np.asarray(colour, np.float32)[None, None] + rng.normal(0, 25, (96, 128, 3)), 0, 255)
    return Image.fromarray(arr.astype(np.uint8))


@pytest.fixture(scope="module")
def binary_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    for k, (name, colour) in enumerate({"damaged": (200, 40, 30), "intact": (30, 60, 200)}.items()):
        (root / name).mkdir()
        for i in range(5):
            _photo(colour, 10 * k + i).save(root / name / f"{i}.jpg")
    weights = tmp_path_factory.mktemp("w") / "head.pt"
    train(root, weights, views=1, holdout=0.2, cache_dir=None, log=lambda *_: None)
    return root, weights


def test_binary_folders_are_scored_in_the_binary_view(binary_setup):
    root, weights = binary_setup
    report = evaluate_folder(root, weights)
    assert report["labels"] == ["intact", "damaged"]
    assert report["n"] == 10
    assert report["binary_accuracy"] == 1.0
    assert np.asarray(report["confusion"]).shape == (2, 2)
    assert report["mistakes"] == []


def test_json_flag_prints_one_object(binary_setup, capsys):
    root, weights = binary_setup
    assert main([str(root), "--json", "--weights", str(weights)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"accuracy", "per_class", "confusion", "ece", "binary_accuracy"} <= set(report)


def test_text_report_and_confusion_png(binary_setup, capsys, tmp_path):
    root, weights = binary_setup
    png = tmp_path / "confusion.png"
    assert main([str(root), "--weights", str(weights), "--confusion-png", str(png)]) == 0
    text = capsys.readouterr().out
    assert "binary accuracy" in text and "ECE" in text and "confusion" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_taxonomy_folders_give_a_six_by_six_confusion(tmp_path):
    for k, label in enumerate(DAMAGE_LABELS[:2]):
        (tmp_path / label).mkdir()
        _photo((40 * k, 100, 100), k).save(tmp_path / label / "a.jpg")
    report = evaluate_folder(tmp_path)
    assert np.asarray(report["confusion"]).shape == (6, 6)
    assert report["n"] == 2


def test_unknown_folder_is_an_error_exit(tmp_path, capsys):
    (tmp_path / "cats").mkdir()
    assert main([str(tmp_path)]) == 2
    assert "cats" in capsys.readouterr().err


def test_expected_calibration_error_of_perfect_and_overconfident_predictions():
    labels = np.array([0, 1, 0, 1])
    assert expected_calibration_error(np.eye(2)[labels], labels) == pytest.approx(0.0)
    wrong = np.eye(2)[1 - labels]
    assert expected_calibration_error(wrong, labels) == pytest.approx(1.0)


def test_temperature_softens_overconfident_logits():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    logits = np.zeros((400, 2))
    logits[np.arange(400), labels] = 1.0
    noisy = np.where(rng.random(400) < 0.25, 1 - labels, labels)  # a quarter mislabelled
    t = fit_temperature(logits * 10, noisy)
    assert t > 3


def test_classification_report_counts_the_binary_view():
    probs = np.array([[0.9, 0.1, 0, 0, 0, 0], [0.2, 0.5, 0.3, 0, 0, 0], [0.1, 0, 0, 0, 0.9, 0]])
    report = classification_report(np.array([0, 2, 4]), probs, DAMAGE_LABELS)
    assert report["accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert report["binary_accuracy"] == 1.0
    assert report["per_class"]["torn_packaging"]["recall"] == 0.0
