"""ClaimService: one claim end to end and the review operations, split by job:

    _intake     the customer's side: file, read, add to a claim, ask for a person
    _evidence   what a decision rests on: the models' look at the photos, the evidence read in the transaction
    _review     the reviewer's side: queue, case, decision, photo labels
    _reporting  dashboard figures and the labelled-photo export
    _models     the vision and text models, loaded once on first use
    _base       looking claims up, and `apply_decision`, the one writer of a claim's status
    _views      the dicts handed to the UI and the API

Photos are checked by `claims.photos`, the decision comes from the pure `claims.policy.decide`, the words
from `claims.messages`, the allowed moves from `claims.lifecycle`, and every change of a claim is written
with its thread message and audit event in one store transaction.
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from claims import accounts
from claims.config import Settings, load_settings
from claims.models import ComplaintAnalysis
from claims.service._intake import Intake, new_claim_id
from claims.service._models import ComplaintReader, Models, TextModel, VisionModel
from claims.service._reporting import Reporting, export_labelled_examples
from claims.service._review import Review
from claims.store import Store


class ClaimService(Intake, Review, Reporting):
    """See the module docstring and docs/api.md. Open with `ClaimService.open(path)`."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        photo_root: str | Path,
        vision: VisionModel | None = None,
        text: TextModel | None = None,
    ):
        super().__init__(store, settings, photo_root=photo_root, models=Models(settings, vision, text))
        self._text_pool = ThreadPoolExecutor(
            max_workers=max(1, settings.concurrency_limit), thread_name_prefix="claimbot-text"
        )
        self._tempdir: str | None = None
        # Set when this open created the one random reviewer account: (name, password), shown once.
        self.generated_reviewer = accounts.ensure_accounts(store, settings)

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        settings: Settings | None = None,
        vision: VisionModel | None = None,
        text: TextModel | None = None,
        *,
        demo: bool = False,
    ) -> ClaimService:
        """Open (creating and migrating if needed) the store at `path`; photos live in `photos/` beside it.
        `demo=True` adds the demo orders (public test data: never on a real deployment)."""
        settings = settings or load_settings()
        path = Path(path) if path is not None else Path(settings.data_dir) / "claims.db"
        tempdir = None
        if str(path) == ":memory:":
            tempdir = tempfile.mkdtemp(prefix="claimbot-photos-")
            photo_root = Path(tempdir)
        else:
            photo_root = path.parent / "photos"
        store = Store.open(path)
        if demo:
            from claims import demo_orders

            demo_orders.seed(store)
        service = cls(store, settings, photo_root=photo_root, vision=vision, text=text)
        service._tempdir = tempdir
        return service

    def close(self) -> None:
        self.stop_dispatcher()
        self._text_pool.shutdown(wait=True)
        self.store.close()
        if self._tempdir:
            shutil.rmtree(self._tempdir, ignore_errors=True)

    def __enter__(self) -> ClaimService:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- models --------------------------------------------------------------------------------------

    @property
    def vision(self) -> VisionModel:
        return self.models.vision

    @property
    def text(self) -> TextModel:
        return self.models.text

    def text_analyze(self, text: str) -> ComplaintAnalysis:
        return self.models.text.analyze(text)

    def model_versions(self) -> dict[str, str]:
        return self.models.versions()

    # --- the outbox dispatcher -----------------------------------------------------------------------

    def start_dispatcher(self, poll_seconds: float = 1.0):
        """Start the outbox dispatcher thread (webhook or ledger, per settings); `close()` stops it.
        Idempotent. Returns the claims.outbox.OutboxDispatcher."""
        from claims.outbox import OutboxDispatcher

        if self._dispatcher is None:
            self._dispatcher = OutboxDispatcher(self.store, self.settings, poll_seconds=poll_seconds)
        return self._dispatcher.start()

    def stop_dispatcher(self) -> None:
        """Stop the dispatcher thread after the delivery in progress; undelivered messages wait in the store."""
        if self._dispatcher is not None:
            self._dispatcher.stop()
            self._dispatcher = None


__all__ = ["ClaimService", "ComplaintReader", "TextModel", "VisionModel", "export_labelled_examples", "new_claim_id"]
