"""The complaint (text) model: what the customer wants, whether they ask for a person, how they feel, what broke.

    from claims.complaint import analyze_complaint, analyze_complaints
    a = analyze_complaint("Box crushed and the mug is in pieces. Refund please!")
    a.intent, a.wants_human, a.sentiment, a.frustrated, a.damage_types, a.summary, a.evidence

Serving: `reader` (combines heads and rules, writes the summary), `encoder` (MiniLM, loaded lazily on the first
analysis), `lexicon`, `heads` (numpy only). Importing this package loads no model and imports neither torch nor
the training side. Training and evaluation live in `training`, the corpus generator and CSV reading in
`corpus`; nothing that serving imports imports them.

Command line (ui/cli.py):
    claimbot text evaluate FILE.csv [--json] [--where COLUMN=VALUE] [--heads PATH]
    claimbot text train [--corpus FILE.csv] [--out PATH]
    claimbot text corpus [--out DIR]
"""

from __future__ import annotations

from claims.complaint.reader import (
    DAMAGE_CUTOFF,
    DATA_DIR,
    FRUSTRATION_CUTOFF,
    HEADS_PATH,
    HUMAN_CUTOFF,
    MAX_SUMMARY_CHARS,
    MODEL_VERSION,
    analyze_complaint,
    analyze_complaints,
    feature_matrix,
    summarize,
)

__all__ = [
    "DAMAGE_CUTOFF",
    "DATA_DIR",
    "FRUSTRATION_CUTOFF",
    "HEADS_PATH",
    "HUMAN_CUTOFF",
    "MAX_SUMMARY_CHARS",
    "MODEL_VERSION",
    "analyze_complaint",
    "analyze_complaints",
    "feature_matrix",
    "summarize",
]
