"""The complaint corpus: generating it (`generate`) and reading labelled CSV files (`read_rows`).

    claimbot text corpus                         # deterministic: same seed, same files in claims/complaint/data/

Two sources, both written by the project:
- `data/handwritten.txt`: natural messages written one by one (tweets, chatbot turns, Reddit-style posts, emails,
  non-native English, hard negatives), each with its labels;
- templates: sentences from many hand-written pools (`corpus_templates`: damage, products, requests, tone,
  domains other than delivery) combined at random, with typos and casing noise, so that every signal meets many
  phrasings.

Columns: text, intent (refund/replacement/unspecified), wants_human (1/0), frustrated (1/0), sentiment
(pos/neg/neu), damage_types (';'-separated taxonomy labels), source (handwritten/template).
Each message's side of the split is fixed by a hash of its text (about 20% test); the test file is never used
for tuning. Training and evaluation read the files through `read_rows`, `parse_bool` and `parse_damage`;
serving never imports this module.

This module is long because generating the corpus and reading its CSV files share one label vocabulary
and one row format; the sentence pools already live apart, in corpus_templates.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from collections.abc import Sequence
from pathlib import Path

from claims.complaint.corpus_templates import (
    AIRLINE_PROBLEMS,
    AIRLINES,
    ANGRY,
    ANGRY_FACT,
    ANGRY_OPEN,
    ANGRY_TAGS,
    CALM,
    CALM_EXTRA,
    CALM_NEGATED,
    CALM_TAGS,
    CLOSINGS,
    CONTEXT,
    COURIERS,
    DAMAGE_SENTENCES,
    HUMAN_CHATBOT,
    HUMAN_FURIOUS,
    HUMAN_HARD_NEGATIVES,
    HUMAN_POLITE,
    ITEM_FINE_AFTER,
    ITEMS,
    NEGATED_TO_REFUND,
    NEGATED_TO_REPLACEMENT,
    NEUTRAL,
    NO_DAMAGE_SENTENCES,
    NON_NATIVE,
    OPENERS,
    OTHER_DOMAIN_PROBLEMS,
    OTHER_PROBLEMS,
    POS_CLOSE,
    POS_DETAIL,
    POS_OPEN,
    POSITIVE,
    REFUND,
    REPLACEMENT,
    SARC_FACT,
    SARC_FORMS,
    SARC_POS,
    SARCASM,
    SHOPS,
    TYPO_SWAPS,
    UNSPECIFIED_ASKS,
)
from claims.complaint.reader import DATA_DIR
from vision_models.labels import DAMAGE_LABELS

SEED = 20261127
TEST_FRACTION = 0.2
N_TEMPLATE = 2000
COLUMNS = ("text", "intent", "wants_human", "frustrated", "sentiment", "damage_types", "source")

_DAMAGE_CODES = {
    "c": "crushed_packaging",
    "t": "torn_packaging",
    "w": "water_damage",
    "b": "broken",
    "s": "surface_damage",
    "n": "no_damage",
}
_INTENT_CODES = {"r": "refund", "x": "replacement", "u": "unspecified"}
_SENT_CODES = {"-": "neg", "0": "neu", "+": "pos"}

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f", ""}


class CsvError(ValueError):
    """The evaluation or training file cannot be read as a labelled corpus."""


def parse_bool(value: str, *, row: int, column: str) -> bool:
    v = (value or "").strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise CsvError(f"row {row}: column {column!r} must be 1/0, true/false or yes/no, not {value!r}")


def parse_damage(value: str, *, row: int) -> tuple[str, ...]:
    labels = tuple(sorted({p.strip() for p in (value or "").split(";") if p.strip()}))
    unknown = [lbl for lbl in labels if lbl not in DAMAGE_LABELS]
    if unknown:
        raise CsvError(f"row {row}: unknown damage label(s) {unknown}; use {', '.join(DAMAGE_LABELS)}")
    return labels


def read_rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise CsvError(f"{path}: needs a 'text' column (found {reader.fieldnames})")
            return list(reader)
    except FileNotFoundError as exc:
        raise CsvError(f"{path}: no such file") from exc


# --- generating ---------------------------------------------------------------------------------


def read_handwritten(path: Path | None = None) -> list[dict[str, str]]:
    """Lines `INTENT H F S DAMAGE | text`, e.g. `r 1 1 - bc | Box crushed, mug broken. Refund + a human NOW`."""
    path = path or DATA_DIR / "handwritten.txt"
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        head, sep, text = line.partition("|")
        parts = head.split()
        if not sep or len(parts) not in (4, 5):
            raise ValueError(f"handwritten.txt line {n}: expected 'INTENT H F S [DAMAGE] | text'")
        intent, human, frus, sent = parts[:4]
        damage = parts[4] if len(parts) == 5 else ""
        rows.append(
            {
                "text": text.strip().replace("\\n", "\n"),
                "intent": _INTENT_CODES[intent],
                "wants_human": str(int(human)),
                "frustrated": str(int(frus)),
                "sentiment": _SENT_CODES[sent],
                "damage_types": ";".join(sorted(_DAMAGE_CODES[c] for c in damage if c != "-")),
                "source": "handwritten",
            }
        )
    return rows


def _fill(s: str, rng: random.Random, item: str) -> str:
    return s.format(
        item=item,
        shop=rng.choice(SHOPS),
        airline=rng.choice(AIRLINES),
        num=rng.randint(10000, 99999),
        courier=rng.choice(COURIERS),
    )


def _sentence(s: str) -> str:
    s = s.strip()
    if not s:
        return s
    s = s[0].upper() + s[1:]
    return s if s[-1] in ".!?" else s + "."


def _noise(text: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.12:
        text = text.lower()
    elif r < 0.17:
        text = text.upper()
    if rng.random() < 0.15:
        words = text.split(" ")
        text = " ".join(TYPO_SWAPS.get(w, w) if rng.random() < 0.6 else w for w in words)
    if rng.random() < 0.1:
        text = text.replace("'", "")
    if rng.random() < 0.08:
        text = re.sub(r"[.]", "", text)
    return text


def _sarcasm(rng: random.Random, item: str) -> str:
    fact = _fill(rng.choice(SARC_FACT), rng, item)
    return rng.choice(SARC_FORMS).format(pos=rng.choice(SARC_POS), fact=fact, Fact=fact[0].upper() + fact[1:])


def _damage_part(rng: random.Random, item: str) -> tuple[list[str], set[str]]:
    labels: set[str] = set()
    sentences = []
    r = rng.random()
    if r < 0.12:  # packaging damaged, item fine: a hard negative for "broken"
        pack = rng.choice(["crushed_packaging", "torn_packaging"])
        s = _fill(rng.choice(DAMAGE_SENTENCES[pack]), rng, item)
        sentences.append(s + ", " + _fill(rng.choice(ITEM_FINE_AFTER), rng, item))
        labels.add(pack)
        return sentences, labels
    if r < 0.18:
        sentences.append(_fill(rng.choice(NO_DAMAGE_SENTENCES), rng, item))
        return sentences, {"no_damage"}
    if r < 0.26:
        sentences.append(_fill(rng.choice(OTHER_PROBLEMS), rng, item))
        return sentences, labels
    n = 1 if rng.random() < 0.6 else 2
    for label in rng.sample(list(DAMAGE_SENTENCES), n):
        sentences.append(_fill(rng.choice(DAMAGE_SENTENCES[label]), rng, item))
        labels.add(label)
    return sentences, labels


def _tone(rng: random.Random, item: str, frustrated: bool) -> tuple[list[str], list[str]]:
    """Sentences before and after the body that carry the tone."""
    before: list[str] = []
    after: list[str] = []
    if frustrated:
        k = rng.choice([1, 1, 2, 2, 3])
        for _ in range(k):
            r = rng.random()
            if r < 0.18:
                s = _sarcasm(rng, item)
            elif r < 0.25:
                s = _fill(rng.choice(SARCASM), rng, item)
            elif r < 0.45:
                s = f"{rng.choice(ANGRY_OPEN)} {rng.choice(ANGRY_FACT)}" + rng.choice([".", "!", "!!", "?!", "."])
            else:
                s = _fill(rng.choice(ANGRY), rng, item)
            (before if rng.random() < 0.35 else after).append(s)
        if rng.random() < 0.35:
            after.append(rng.choice(ANGRY_TAGS))
    else:
        for _ in range(rng.choice([0, 1, 1, 2])):
            after.append(_fill(rng.choice(CALM + CALM_EXTRA), rng, item))
        if rng.random() < 0.1:
            after.append(rng.choice(CALM_TAGS))
    return before, after


def _complaint(rng: random.Random) -> dict[str, str]:
    item = rng.choice(ITEMS)
    domain = rng.random()
    frustrated = rng.random() < 0.5
    if domain < 0.62:
        body, labels = _damage_part(rng, item)
        opener = _fill(rng.choice(OPENERS), rng, item)
    elif domain < 0.85:
        body, labels = [_fill(rng.choice(AIRLINE_PROBLEMS), rng, item)], set()
        if "broken" in body[0]:
            labels = {"broken"}
        elif "soaked" in body[0]:
            labels = {"water_damage"}
        opener = rng.choice(AIRLINES)
    else:
        body, labels = [_fill(rng.choice(OTHER_DOMAIN_PROBLEMS), rng, item)], set()
        if "smashed eggs" in body[0]:
            labels = {"broken"}
        opener = rng.choice(["", "Hi,", "@support", "Hello,"])
    if rng.random() < 0.3:
        body.insert(0, _fill(rng.choice(CONTEXT), rng, item))

    r = rng.random()
    if r < 0.30:
        intent, ask = "refund", rng.choice(REFUND)
    elif r < 0.34:
        intent, ask = "refund", rng.choice(NEGATED_TO_REFUND)
    elif r < 0.50 and domain < 0.62:
        intent, ask = "replacement", rng.choice(REPLACEMENT)
    elif r < 0.55 and domain < 0.62:
        intent, ask = "replacement", rng.choice(NEGATED_TO_REPLACEMENT)
    else:
        intent, ask = "unspecified", rng.choice(UNSPECIFIED_ASKS)
    ask = _fill(ask, rng, item)

    r = rng.random()
    human = 0
    human_s = ""
    if r < 0.14:
        human, human_s = 1, rng.choice(HUMAN_POLITE)
    elif r < 0.23:
        human, human_s = 1, rng.choice(HUMAN_FURIOUS)
        frustrated = True
    elif r < 0.33:
        human_s = _fill(rng.choice(HUMAN_HARD_NEGATIVES), rng, item)

    before, after = _tone(rng, item, frustrated)
    parts = [opener] + before + [_sentence(b) for b in body] + [ask]
    if human_s:
        parts.insert(rng.randint(1, len(parts)), human_s)
    parts += after
    closing = _fill(rng.choice(CLOSINGS), rng, item)
    if closing and not frustrated:
        parts.append(closing)
    text = " ".join(p for p in parts if p)
    if frustrated and rng.random() < 0.15:
        text = text.replace(".", "!!!", 1)
    text = _noise(text, rng)
    return {
        "text": text,
        "intent": intent,
        "wants_human": str(human),
        "frustrated": str(int(frustrated)),
        "sentiment": "neg",
        "damage_types": ";".join(sorted(labels)),
        "source": "template",
    }


def _short(rng: random.Random) -> dict[str, str]:
    """Chatbot-style and tweet-style one-liners, positive messages, neutral questions."""
    item = rng.choice(ITEMS)
    r = rng.random()
    row = {
        "intent": "unspecified",
        "wants_human": "0",
        "frustrated": "0",
        "sentiment": "neu",
        "damage_types": "",
        "source": "template",
    }
    if r < 0.06:
        row.update(text=_sarcasm(rng, item), frustrated="1", sentiment="neg")
        if rng.random() < 0.5:
            row["text"] = rng.choice(SHOPS + AIRLINES) + " " + row["text"]
        row["damage_types"] = next(
            (
                lbl
                for word, lbl in (
                    ("broken", "broken"),
                    ("pieces", "broken"),
                    ("cracked", "broken"),
                    ("soaked", "water_damage"),
                    ("scratch", "surface_damage"),
                    ("crushed", "crushed_packaging"),
                    ("dented", "surface_damage"),
                    ("box that looks", "crushed_packaging"),
                )
                if word in row["text"]
            ),
            "",
        )
    elif r < 0.22:
        row.update(text=rng.choice(HUMAN_CHATBOT), wants_human="1", sentiment="neu")
        if rng.random() < 0.2:
            row["text"] = row["text"] + rng.choice(["!!", "!!!", " NOW", " pls", "??"])
            row.update(frustrated="1", sentiment="neg")
    elif r < 0.35:
        row.update(text=_fill(rng.choice(POSITIVE), rng, item), sentiment="pos")
        if "perfect condition" in row["text"] or "safe and sound" in row["text"]:
            row["damage_types"] = "no_damage"
    elif r < 0.5:
        detail = _fill(rng.choice(POS_DETAIL), rng, item)
        handle = rng.choice(["", "", rng.choice(SHOPS) + " ", rng.choice(AIRLINES) + " "])
        text = f"{handle}{rng.choice(POS_OPEN)}, {detail}{rng.choice(POS_CLOSE)}"
        if rng.random() < 0.4:
            text = f"{handle}{detail[0].upper() + detail[1:]}{rng.choice(POS_CLOSE)} {rng.choice(POS_OPEN)}!"
        row.update(text=text, sentiment="pos")
        if "perfect condition" in text:
            row["damage_types"] = "no_damage"
        elif "broken" in text:
            row["damage_types"] = "broken"
        if "perfect condition" in row["text"] or "safe and sound" in row["text"]:
            row["damage_types"] = "no_damage"
    elif r < 0.62:
        row.update(text=_fill(rng.choice(NEUTRAL), rng, item), sentiment="neu")
    elif r < 0.7:
        text, intent, _ = rng.choice(CALM_NEGATED)
        text = _fill(text, rng, item)
        damage = next(
            (
                lbl
                for word, lbl in (
                    ("crushed", "crushed_packaging"),
                    ("cracked", "broken"),
                    ("broken", "broken"),
                    ("scratch", "surface_damage"),
                    ("dented", "surface_damage"),
                )
                if word in text
            ),
            "",
        )
        row.update(text=text, intent=intent, sentiment="neg", damage_types=damage)
    elif r < 0.85:
        text, intent, human, frus, damage = rng.choice(NON_NATIVE)
        row.update(
            text=_fill(text, rng, item),
            intent=intent,
            wants_human=str(human),
            frustrated=str(frus),
            sentiment="neg",
            damage_types=damage,
        )
    else:
        label = rng.choice(list(DAMAGE_SENTENCES))
        text = _sentence(_fill(rng.choice(DAMAGE_SENTENCES[label]), rng, item))
        row.update(text=text, sentiment="neg", damage_types=label)
    row["text"] = _noise(row["text"], rng)
    return row


def template_rows(n: int = N_TEMPLATE, seed: int = SEED) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = [(_complaint if rng.random() < 0.66 else _short)(rng) for _ in range(n)]
    seen, unique = set(), []
    for r in rows:
        if r["text"] not in seen:
            seen.add(r["text"])
            unique.append(r)
    return unique


def split(rows: Sequence[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A message's side depends only on its own text (a stable hash), so adding messages never moves old ones."""
    train: list[dict[str, str]] = []
    test: list[dict[str, str]] = []
    for row in rows:
        digest = hashlib.sha256(f"{SEED}:{row['text']}".encode()).digest()
        (test if digest[0] < 256 * TEST_FRACTION else train).append(row)
    return train, test


def write(rows: list[dict[str, str]], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def generate(out_dir: Path | str | None = None, *, handwritten: Path | str | None = None) -> dict:
    """Write complaints_train.csv and complaints_test.csv into `out_dir` (default: the shipped data folder).

    Returns the two paths and the counts; the same inputs always give the same files.
    """
    out_dir = Path(out_dir) if out_dir is not None else DATA_DIR
    rows, seen = [], set()
    for row in read_handwritten(Path(handwritten) if handwritten is not None else None) + template_rows():
        key = " ".join(row["text"].lower().split())
        if key not in seen:  # a message in both files would leak the test set into training
            seen.add(key)
            rows.append(row)
    train, test = split(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    train_path, test_path = out_dir / "complaints_train.csv", out_dir / "complaints_test.csv"
    write(train, train_path)
    write(test, test_path)
    return {
        "train": train_path,
        "test": test_path,
        "n_train": len(train),
        "n_test": len(test),
        "n_handwritten": sum(r["source"] == "handwritten" for r in rows),
    }
