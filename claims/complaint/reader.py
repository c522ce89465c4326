"""The complaint reader: what the customer wants, whether they ask for a person, how they feel, what broke.

How it works: every message is embedded with all-MiniLM-L6-v2 (`encoder`, loaded once, lazily, on the first
analysis; importing this module loads no model) and read by a lexicon (`lexicon`: explicit requests, negation,
tone markers, damage words). Small logistic-regression heads (`heads`) trained on the project's own corpus
(`claims/complaint/data/`) combine both. Two lexical rules are trusted on their own because they are reliable:
an explicit, non-negated request for a person, and an explicit, one-sided request for a refund or a replacement.

This module is long because reading one message is one pipeline (lexicon, heads, rules, summary) whose
order matters; splitting it would hide that order.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from claims.complaint import lexicon
from claims.complaint.heads import DAMAGE_HEADS, INTENTS, Heads
from claims.models import ComplaintAnalysis, clean_text

MODEL_VERSION = "complaint-minilm-l6-v2-heads-1"
DATA_DIR = Path(__file__).resolve().parent / "data"
HEADS_PATH = DATA_DIR / "complaint_heads.npz"
FRUSTRATION_CUTOFF = 0.5
HUMAN_CUTOFF = 0.7  # the head alone must be fairly sure; explicit phrases decide on their own
DAMAGE_CUTOFF = 0.5
MAX_SUMMARY_CHARS = 159

_heads: Heads | None = None
_heads_lock = threading.Lock()


def _load_heads() -> Heads | None:
    global _heads
    if _heads is None:
        with _heads_lock:
            if _heads is None and HEADS_PATH.exists():
                _heads = Heads.load(HEADS_PATH)
    return _heads


def feature_matrix(texts: Sequence[str], lexes: Sequence[lexicon.Lexical], emb: np.ndarray | None = None) -> np.ndarray:
    """[embedding, lexical features] per message: the one preprocessing used by training and serving."""
    if emb is None:
        from claims.complaint.encoder import encode

        emb = encode(texts)
    lex = np.array([lexicon.features(t, lx) for t, lx in zip(texts, lexes)], dtype=np.float32)
    return np.hstack([emb, lex.reshape(len(texts), len(lexicon.FEATURE_NAMES))])


def _read_and_encode(texts: list[str]) -> tuple[list[lexicon.Lexical], np.ndarray]:
    """Lexicon and encoder together: torch releases the GIL, so for a batch the regex work runs while it encodes."""
    from claims.complaint.encoder import encode, get_encoder

    get_encoder()  # load outside the worker thread so a load error surfaces here, once
    if len(texts) < 16:
        return [lexicon.read(t) for t in texts], encode(texts)
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(encode, texts)
        lexes = [lexicon.read(t) for t in texts]
        return lexes, future.result()


def analyze_complaint(text: str) -> ComplaintAnalysis:
    """Read one customer message. See `analyze_complaints` for the batched form."""
    return analyze_complaints([text])[0]


def analyze_complaints(texts: Sequence[str]) -> list[ComplaintAnalysis]:
    """Read many messages at once (one encoder pass in batches): the fast path for bulk work."""
    if isinstance(texts, str):
        raise TypeError("analyze_complaints takes a sequence of strings; use analyze_complaint for one")
    return read_batch(texts, _load_heads())


def read_batch(texts: Sequence[str], heads: Heads | None) -> list[ComplaintAnalysis]:
    """`analyze_complaints` with the given heads (None: lexicon only); evaluation passes freshly trained ones."""
    cleaned = [clean_text(t if isinstance(t, str) else str(t)) for t in texts]
    results: list[ComplaintAnalysis | None] = [None] * len(cleaned)
    todo = [i for i, t in enumerate(cleaned) if t]
    for i, t in enumerate(cleaned):
        if not t:
            results[i] = ComplaintAnalysis(summary="No description given.", model_version=MODEL_VERSION)
    if todo:
        batch = [cleaned[i] for i in todo]
        if heads is not None:
            lexes, emb = _read_and_encode(batch)
            probs = heads.predict(feature_matrix(batch, lexes, emb))
        else:
            lexes, probs = [lexicon.read(t) for t in batch], None
        for k, i in enumerate(todo):
            row = {name: p[k] for name, p in probs.items()} if probs is not None else None
            results[i] = _combine(batch[k], lexes[k], row)
    return results  # type: ignore[return-value]


# --- combining heads and rules -----------------------------------------------------------------


def _binary(row: dict | None, name: str) -> float | None:
    return None if row is None or name not in row else float(row[name][1])


def _intent(text: str, lex: lexicon.Lexical, row: dict | None) -> str:
    if lex.refund and not lex.replacement:
        return "refund"
    if lex.replacement and not lex.refund:
        return "replacement"
    if row is not None and "intent" in row:
        return INTENTS[int(np.argmax(row["intent"]))]
    if lex.refund and lex.replacement:  # no heads: the first thing asked for wins
        low = text.lower()
        return "refund" if low.find(lex.refund[0].lower()) <= low.find(lex.replacement[0].lower()) else "replacement"
    return "unspecified"


_ACRONYMS = {"USPS", "UPS", "DHL", "TV", "USB", "LED", "DOA", "FYI", "ASAP", "OK", "PSA", "SFO", "LAX", "JFK", "AC"}


def _rule_frustration(lex: lexicon.Lexical) -> float:
    """A conservative lexical floor: markers that on their own mean the writer is upset.

    The heads learn tone from a corpus the project wrote; these markers carry over to real messages whose
    phrasing the corpus never saw (sarcasm, "you had one job", shouting).
    """
    compound = lex.vader.get("compound", 0.0)
    negative_context = bool(lex.problem or lex.damage or lex.anger) or compound < -0.2
    score = 0.0
    if lex.strong_anger:
        score = 0.6 + 0.1 * min(3, len(lex.strong_anger))
    if lex.sarcasm and negative_context and not lex.received:
        score = max(score, 0.65)
    shouting = [w for w in lex.emphasis if w.isalpha() and w.isupper() and len(w) >= 4 and w not in _ACRONYMS]
    marks = [e for e in lex.emphasis if set(e) <= set("!?")]
    if (negative_context or compound <= 0.0) and not lex.positive and (len(shouting) >= 2 or marks):
        score = max(score, 0.6) + 0.1 * (len(shouting) >= 2 or any(len(e) >= 3 for e in marks))
    if any(e in lexicon._NEG_EMOJI for e in lex.emphasis if len(e) == 1) and negative_context:
        score = max(score, 0.6)
    if score and lex.calm:
        score -= 0.15 * min(2, len(lex.calm))
    return float(min(0.95, max(0.0, score)))


def _combine(text: str, lex: lexicon.Lexical, row: dict | None) -> ComplaintAnalysis:
    human_p = _binary(row, "wants_human")
    wants_human = bool(lex.human) or (human_p is not None and human_p >= HUMAN_CUTOFF and not lex.human_negated)

    rule_frustration = _rule_frustration(lex)
    frustration = _binary(row, "frustrated")
    frustration = rule_frustration if frustration is None else max(frustration, rule_frustration)

    vader = lex.vader.get("compound", 0.0)
    p_pos = 0.0
    if row is not None and "sentiment" in row:
        p = row["sentiment"]
        p_pos = float(p[2])
        sentiment = 0.85 * float(p[2] - p[0]) + 0.15 * vader
    else:
        sentiment = vader
    if rule_frustration < FRUSTRATION_CUTOFF and p_pos >= 0.8:
        # The sentiment head is sure the message is praise and no anger marker says otherwise.
        frustration = min(frustration, 0.3)
    frustrated = frustration >= FRUSTRATION_CUTOFF
    if frustrated:
        sentiment = min(sentiment, -0.05)  # an upset customer is never read as positive, sarcasm included
    sentiment = float(np.clip(sentiment, -1.0, 1.0))

    damage: list[str] = []
    for label in DAMAGE_HEADS:
        p = _binary(row, f"damage_{label}")
        hit = p >= DAMAGE_CUTOFF if p is not None else label in lex.damage
        if hit:
            damage.append(label)
    if len(damage) > 1 and "no_damage" in damage:
        damage.remove("no_damage")

    intent = _intent(text, lex, row)

    evidence: dict[str, tuple[str, ...]] = {}
    if intent != "unspecified":
        evidence["intent"] = _unique(lex.refund if intent == "refund" else lex.replacement)
    if wants_human:
        evidence["wants_human"] = _unique(lex.human)
    if frustrated:
        evidence["frustrated"] = _unique(lex.anger + lex.sarcasm + lex.emphasis)
    if damage:
        evidence["damage_types"] = _unique([p for label in damage for p in lex.damage.get(label, ())])
    tone_words = lex.positive + lex.pos_emoji if sentiment > 0 else lex.anger + lex.problem
    if tone_words:
        evidence["sentiment"] = _unique(tone_words)
    evidence = {k: v for k, v in evidence.items() if v}

    return ComplaintAnalysis(
        intent=intent,  # type: ignore[arg-type]
        wants_human=wants_human,
        sentiment=round(sentiment, 4),
        frustrated=frustrated,
        frustration_score=round(float(np.clip(frustration, 0.0, 1.0)), 4),
        damage_types=tuple(damage),  # type: ignore[arg-type]
        summary=summarize(text, intent, wants_human, frustration, sentiment, damage),
        evidence=evidence,
        model_version=MODEL_VERSION,
    )


def _unique(phrases: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for p in phrases:
        p = p.strip()
        if p and p.lower() not in {s.lower() for s in seen}:
            seen[p] = None
    return tuple(seen)[:8]


# --- summary -----------------------------------------------------------------------------------

_ITEMS = (
    "mug",
    "cup",
    "glass",
    "glasses",
    "vase",
    "plate",
    "plates",
    "bowl",
    "bowls",
    "lamp",
    "mirror",
    "frame",
    "picture frame",
    "tv",
    "television",
    "monitor",
    "screen",
    "laptop",
    "phone",
    "tablet",
    "ipad",
    "iphone",
    "camera",
    "lens",
    "headphones",
    "earbuds",
    "speaker",
    "keyboard",
    "mouse",
    "printer",
    "router",
    "console",
    "controller",
    "watch",
    "chair",
    "table",
    "desk",
    "shelf",
    "bookshelf",
    "sofa",
    "couch",
    "bed",
    "mattress",
    "dresser",
    "cabinet",
    "drawer",
    "stool",
    "bike",
    "bicycle",
    "helmet",
    "blender",
    "kettle",
    "toaster",
    "microwave",
    "coffee maker",
    "coffee machine",
    "espresso machine",
    "pan",
    "pot",
    "teapot",
    "jar",
    "bottle",
    "wine",
    "perfume",
    "candle",
    "book",
    "books",
    "puzzle",
    "toy",
    "lego",
    "doll",
    "guitar",
    "violin",
    "piano",
    "keyboard",
    "shoes",
    "boots",
    "jacket",
    "dress",
    "shirt",
    "sweater",
    "bag",
    "handbag",
    "backpack",
    "suitcase",
    "luggage",
    "umbrella",
    "tiles",
    "sink",
    "toilet",
    "faucet",
    "fan",
    "heater",
    "vacuum",
    "hoover",
    "fridge",
    "freezer",
    "oven",
    "washing machine",
    "dishwasher",
    "clock",
    "figurine",
    "statue",
    "sculpture",
    "ornament",
    "ornaments",
    "teacup",
    "teacups",
    "dinner set",
    "tea set",
    "aquarium",
    "fish tank",
    "drone",
    "projector",
    "charger",
    "cable",
    "ring",
    "necklace",
    "bracelet",
    "earrings",
    "sunglasses",
    "glasses",
    "cake",
    "cookies",
    "flowers",
    "plant",
    "pot plant",
    "planter",
    "rug",
    "curtains",
    "pillow",
    "duvet",
    "blanket",
    "painting",
    "print",
    "poster",
    "canvas",
    "records",
    "vinyl",
    "record",
    "cd",
    "dvd",
    "game",
    "skateboard",
    "scooter",
    "stroller",
    "pram",
    "crib",
    "high chair",
    "grill",
    "bbq",
    "flight",
    "bag",
    "baggage",
    "seat",
    "order",
    "delivery",
    "package",
    "parcel",
)
_ITEM_RE = re.compile(
    r"\b(" + "|".join(sorted({re.escape(i) for i in _ITEMS}, key=len, reverse=True)) + r")\b", re.IGNORECASE
)
_CONTAINERS = {"order", "delivery", "package", "parcel", "flight", "seat"}
_DAMAGE_WORDS = {
    "broken": "broken",
    "crushed_packaging": "box crushed",
    "torn_packaging": "packaging torn",
    "water_damage": "water damage",
    "surface_damage": "scratched/scuffed",
    "no_damage": "undamaged",
}


# "my cutting board arrived cracked": the words between a determiner and a verb name the item.
_SUBJECT_RE = re.compile(
    r"\b(?:my|the|our|their|this|these)\s+((?:[a-z-]+\s+){0,2}?[a-z-]{3,})\s+"
    r"(?:arrived|came|is|was|are|were|has|had|got|looks?|showed up|turned up)\b",
    re.IGNORECASE,
)
_NOT_ITEMS = {
    "box",
    "boxes",
    "package",
    "packaging",
    "parcel",
    "carton",
    "envelope",
    "delivery",
    "order",
    "driver",
    "courier",
    "tracking",
    "item",
    "product",
    "thing",
    "one",
    "first one",
    "refund",
    "replacement",
    "tape",
    "outer box",
    "shipping box",
    "wrapping",
    "agent",
    "bot",
    "chat",
    "website",
    "app",
}


def _item(text: str) -> str:
    found = [m.group(1).lower() for m in _ITEM_RE.finditer(text)]
    for name in found:
        if name not in _CONTAINERS:
            return name
    for m in _SUBJECT_RE.finditer(text):
        name = m.group(1).lower()
        if name not in _NOT_ITEMS and len(name) <= 30:
            return name
    return found[0] if found else ""


def summarize(
    text: str, intent: str, wants_human: bool, frustration: float, sentiment: float, damage: Sequence[str]
) -> str:
    """One line for the reviewer: tone, what happened to which item, what they want."""
    if frustration >= 0.8:
        tone = "Angry"
    elif frustration >= FRUSTRATION_CUTOFF:
        tone = "Frustrated"
    elif sentiment >= 0.3:
        tone = "Positive"
    else:
        tone = "Calm"
    item = _item(text)
    what = ", ".join(_DAMAGE_WORDS[d] for d in damage) if damage else "no damage mentioned"
    subject = f"{item}: {what}" if item else what
    wants = {"refund": "wants a refund", "replacement": "wants a replacement"}.get(intent, "no resolution asked")
    parts = [f"{tone} — {subject}", wants]
    if wants_human:
        parts.append("asks for a person")
    line = "; ".join(parts) + "."
    return line if len(line) <= MAX_SUMMARY_CHARS else line[: MAX_SUMMARY_CHARS - 1] + "…"
