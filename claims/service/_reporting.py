"""Read-only views for managers and for training: the dashboard's figures and the reviewer-labelled photos."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from claims import lifecycle
from claims.models import utcnow
from claims.photos import PhotoStore
from claims.service._base import ServiceBase
from claims.store import Store, parse_time
from vision_models.labels import DAMAGE_LABELS


def export_labelled_examples(store: Store, photos: PhotoStore, folder: str | Path) -> dict[str, int]:
    """Copy reviewer-labelled photos into `folder/<label>/<sha256>.<ext>` (an ImageFolder for vision
    training). Returns the number of photos per label. Re-running is cheap."""
    folder = Path(folder)
    counts: dict[str, int] = {}
    for row in store.labelled_examples():
        source = photos.path_for(row["sha256"], row["ext"])
        if not source.is_file():
            continue
        # A photo relabelled since a previous export must not stay in its old class folder.
        for label in DAMAGE_LABELS:
            if label != row["label"]:
                (folder / label / source.name).unlink(missing_ok=True)
        target = folder / row["label"] / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copyfile(source, target)
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    return counts


class Reporting(ServiceBase):
    def dashboard_data(self, since: datetime, until: datetime) -> dict:
        now = utcnow()
        claims = self.store.claims_created_between(since, until)
        rows = []
        for claim in claims:
            due = parse_time(claim.sla_due_at)
            decided = parse_time(claim.decided_at)
            rows.append(
                {
                    "claim_id": claim.claim_id,
                    "created_at": claim.created_at,
                    "decided_at": claim.decided_at,
                    "status": claim.status,
                    "priority": claim.priority,
                    "reasons": list(claim.reasons),
                    "automated": claim.status in lifecycle.AUTOMATED,
                    "escalated": claim.status in lifecycle.ESCALATED,
                    "sla_due_at": claim.sla_due_at,
                    "sla_breached": bool(due and (decided or now) > due),
                }
            )
        ids = [c.claim_id for c in claims]
        confidences = [
            {"label": row["prediction"]["label"], "confidence": row["prediction"]["confidence"]}
            for row in self.store.photo_confidences(ids)
            if row["prediction"]
        ]
        workflows = [{"kind": w["kind"], "state": w["state"]} for w in self.store.workflows_for_claims(ids)]
        return {"claims": rows, "photo_confidences": confidences, "workflows": workflows}

    def photo_path(self, sha256: str) -> Path:
        from claims.errors import ClaimNotFound

        row = self.store.get_photo(sha256)
        if row is None:
            raise ClaimNotFound("No photo with that id.")
        return self.photos.path_for(row["sha256"], row["ext"])

    def labelled_examples(self) -> list[dict]:
        """Reviewer corrections as {"path", "label", "predicted_label", ...} for vision training."""
        return [
            {**row, "path": str(self.photos.path_for(row["sha256"], row["ext"]))}
            for row in self.store.labelled_examples()
        ]
