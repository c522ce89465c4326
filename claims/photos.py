"""Photo intake: check every uploaded file, decode it once, and store the original bytes by SHA-256.

What gets in: JPEG, PNG, WEBP and HEIC, recognised by their content (magic bytes, then Pillow restricted
to that one format), never by file name. What stays out, each with a message the customer can act on:
other types (SVG, HTML, PDF, GIF ...), empty, corrupt or truncated files (every photo is fully decoded),
decompression bombs (pixel count checked from the header before decoding), files over the size limit
(checked before reading), and more photos than allowed. A submission is validated as a whole before
anything is stored, so a bad photo changes nothing.

Each accepted photo is decoded exactly once, into a reduced RGB copy in its EXIF orientation, by
`vision_models.decode` (the decode training and evaluation use too); that copy feeds the perceptual hash
(`claims.fraud.phash_of`), the quality checks and the vision model. The stored file is the original bytes,
or for an order we do not know, that copy as a JPEG (`reduced`).

Budgets: the pixels a submission decodes (`max_pixels_per_claim`, from the headers, before decoding) and the
pixels decoding holds at once in the process (`DecodeBudget`, `max_decode_pixels_in_flight`). The page's
preview (`preview`) goes through the same checks.

This module is long because reading, checking, decoding under the pixel budget and storing are one path
a photo takes; split, the checks would drift apart from the decode they guard.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import re
import struct
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

from claims.config import Settings
from claims.errors import PhotoRejected, RateLimited
from claims.fraud import phash_of
from claims.models import StoredPhoto
from vision_models.decode import load_reduced, open_image, oriented_size, plan_decode, working_copy

log = logging.getLogger(__name__)

# Pillow format name -> (MIME type, file extension of the stored original)
ACCEPTED_FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "HEIF": ("image/heic", "heic"),
}
# ISO base media "ftyp" brands used by HEIC/HEIF still images (phones write heic or mif1).
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}

# The decoded copy (vision_models.decode: JPEG decoded at reduced scale, oriented, RGB, long side at most
# WORKING_SIDE) is the one training and evaluation use too, so the model sees the same pixels everywhere.
_DECODE_WORKERS = max(1, min(4, os.cpu_count() or 1))

_EXIF_IFD = 0x8769
_TAG_DATETIME = 0x0132
_TAG_DATETIME_ORIGINAL = 0x9003
_TAG_OFFSET_TIME_ORIGINAL = 0x9011

PhotoSource = str | os.PathLike | bytes | bytearray | tuple

# EXIF capture times outside these years are nonsense (or crafted); the photo keeps no capture time.
_EXIF_YEARS = range(1990, 2200)
# A photo sent on an order we do not know is kept as this JPEG (the decoded copy, long side at most
# vision_models.decode.WORKING_SIDE) instead of its original bytes: see docs/security.md.
REDUCED_QUALITY = 85

BUSY_MESSAGE = "We are busy checking other photos right now: please try again in a minute. Nothing was stored."


class DecodeBusy(RateLimited):
    """Decoding this photo would take more memory than the process allows at once; try again shortly."""

    code = "busy"


class DecodeBudget:
    """Decoded pixels held at once by photo decoding in this process (`max_decode_pixels_in_flight`).

    A photo waits up to `wait` seconds for room, then is refused (DecodeBusy) rather than queue without end.
    A photo larger than the whole budget still decodes, alone.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.in_flight = 0
        self._room = threading.Condition()

    @contextmanager
    def hold(self, pixels: int, *, wait: float) -> Iterator[None]:
        pixels = max(1, min(pixels, self.capacity))
        deadline = time.monotonic() + wait
        with self._room:
            while self.in_flight + pixels > self.capacity:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DecodeBusy(BUSY_MESSAGE)
                self._room.wait(remaining)
            self.in_flight += pixels
        try:
            yield
        finally:
            with self._room:
                self.in_flight -= pixels
                self._room.notify_all()


_budgets: dict[int, DecodeBudget] = {}
_budgets_lock = threading.Lock()
# Pillow keeps image memory in blocks of up to 16 MB from malloc. glibc serves them from per-thread heaps
# once its mmap threshold has risen (after the first large free), and keeps what they free: decodes on
# four threads then held 1.3 GB where the budget allows 400 MB. Trimming after each large decode gives the
# freed pages back (lowering the mmap threshold instead would slow the vision model's tensors twofold).
_TRIM_ABOVE_PIXELS = 4_000_000


@functools.cache
def _malloc_trim():
    try:
        import ctypes

        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to give back this way
        return None
    trim.argtypes = [ctypes.c_size_t]
    return trim


def _give_back_freed_memory() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def decode_budget(settings: Settings) -> DecodeBudget:
    """The process-wide budget for this capacity (one per distinct setting, shared by every service)."""
    with _budgets_lock:
        budget = _budgets.get(settings.max_decode_pixels_in_flight)
        if budget is None:
            budget = _budgets[settings.max_decode_pixels_in_flight] = DecodeBudget(settings.max_decode_pixels_in_flight)
        return budget


@dataclass
class IncomingPhoto:
    """A photo that passed every check, decoded once; not yet stored."""

    data: bytes
    sha256: str
    format: str
    mime: str
    ext: str
    width: int  # of the original, after EXIF orientation
    height: int
    phash: str
    exif_taken_at: datetime | None
    original_name: str
    image: Image.Image = field(repr=False)  # oriented RGB copy, long side <= vision_models.decode.WORKING_SIDE
    reduced: bool = False  # `data` is the decoded copy as JPEG, not the bytes the customer sent

    def to_stored(self) -> StoredPhoto:
        return StoredPhoto(
            sha256=self.sha256,
            phash=self.phash,
            width=self.width,
            height=self.height,
            mime=self.mime,
            size_bytes=len(self.data),
            original_name=self.original_name,
            exif_taken_at=self.exif_taken_at,
        )


def sniff_format(head: bytes) -> str | None:
    """The Pillow format name the first bytes announce, if it is one we accept."""
    if head[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _label(index: int, name: str) -> str:
    return f"photo {index} ({name})" if name else f"photo {index}"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _clean_name(name: str) -> str:
    name = re.sub(r"[\x00-\x1f\x7f]", "", os.path.basename(str(name)))
    return name[:120]


def _read_source(source: PhotoSource, index: int, settings: Settings) -> tuple[bytes, str]:
    """The bytes and display name of one upload, refusing oversized files before reading them."""
    limit = settings.max_photo_bytes
    if isinstance(source, tuple):
        if len(source) != 2:
            raise TypeError("a photo tuple must be (file name, bytes)")
        name, data = _clean_name(source[0]), bytes(source[1])
    elif isinstance(source, (bytes, bytearray, memoryview)):
        name, data = "", bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = _clean_name(path.name)
        try:
            size = path.stat().st_size
            if size > limit:
                raise PhotoRejected(
                    f"{_label(index, name)} is {_megabytes(size)}; the limit is {_megabytes(limit)} per photo: "
                    "please send a smaller photo."
                )
            with path.open("rb") as handle:
                data = handle.read(limit + 1)  # the file may have grown since stat
        except OSError as exc:
            raise PhotoRejected(f"{_label(index, name)} could not be opened: please attach it again.") from exc
    else:
        raise TypeError(f"unsupported photo source {type(source).__name__}")
    if len(data) > limit:
        raise PhotoRejected(
            f"{_label(index, name)} is {_megabytes(len(data))}; the limit is {_megabytes(limit)} per photo: "
            "please send a smaller photo."
        )
    if not data:
        raise PhotoRejected(f"{_label(index, name)} is empty (0 bytes): please attach the photo again.")
    return data, name


def _exif_time(exif: Image.Exif) -> datetime | None:
    """DateTimeOriginal (in UTC when the camera recorded its offset), else DateTime.

    Without a recorded offset the camera's local time is returned naive: its zone is unknown, and the
    fraud check allows for every zone rather than mistaking it for UTC.
    """
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:  # a malformed EXIF block must not sink an otherwise good photo
        sub = {}
    raw = sub.get(_TAG_DATETIME_ORIGINAL) or exif.get(_TAG_DATETIME)
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if moment.year not in _EXIF_YEARS:
        return None
    offset = sub.get(_TAG_OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str):
        match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", offset.strip().rstrip("\x00"))
        if match and int(match.group(2)) <= 14 and int(match.group(3)) < 60:  # real zones span -12:00..+14:00
            sign = 1 if match.group(1) == "+" else -1
            tz = timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
            return moment.replace(tzinfo=tz).astimezone(UTC)
    return moment


_UNREADABLE = "{label} is not a picture we can read: please send a JPEG, PNG, WEBP or HEIC photo."
_DAMAGED = "{label} is damaged or incomplete (it could not be read to the end): please attach it again."
_PARSE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError, OverflowError, TypeError)


@dataclass
class _Opened:
    """One upload whose header was read: format known, size checked, decode planned; no pixels yet."""

    data: bytes
    name: str
    label: str
    fmt: str
    image: Image.Image
    size: tuple[int, int]  # as the header announces it
    decode_pixels: int  # what decoding it will hold in memory (a JPEG decodes at reduced scale)


def _open(source: PhotoSource, index: int, settings: Settings) -> _Opened:
    """Read one upload and its header, refusing it (PhotoRejected) before decoding when we cannot take it."""
    data, name = _read_source(source, index, settings)
    label = _label(index, name)
    fmt = sniff_format(data[:16])
    if fmt is None:
        raise PhotoRejected(_UNREADABLE.format(label=label))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = open_image(data, formats=[fmt])
            size = image.size
            if size[0] <= 0 or size[1] <= 0 or size[0] * size[1] > settings.max_image_pixels:
                raise PhotoRejected(_bomb_message(label, size, settings))
            width, height = plan_decode(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoRejected(_bomb_message(label, None, settings)) from None
        except PhotoRejected:
            raise
        except Exception as exc:  # whatever a crafted header makes Pillow raise: one message for all
            log.info("photo refused: %s header unreadable (%s)", fmt, type(exc).__name__)
            raise PhotoRejected(_UNREADABLE.format(label=label)) from None
    return _Opened(data, name, label, fmt, image, size, width * height)


def _decode(opened: _Opened, settings: Settings) -> IncomingPhoto:
    """Fully decode one opened photo within the process's decode budget; raise PhotoRejected if we cannot."""
    label, image = opened.label, opened.image
    budget = decode_budget(settings)
    with budget.hold(opened.decode_pixels, wait=settings.decode_wait_seconds), warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            exif = load_reduced(image)
            oriented = working_copy(image, exif, opened.size)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoRejected(_bomb_message(label, opened.size, settings)) from None
        except Exception as exc:  # truncated, corrupt, or a mode Pillow cannot convert
            log.info("photo refused: %s damaged (%s)", opened.fmt, type(exc).__name__)
            raise PhotoRejected(_DAMAGED.format(label=label)) from None
        finally:
            image.close()  # the full-size pixels go now, not when the request ends
    if opened.decode_pixels > _TRIM_ABOVE_PIXELS:
        _give_back_freed_memory()
    try:
        width, height = oriented_size(opened.size, exif)
        taken_at = _exif_time(exif)
        phash = phash_of(oriented)
    except Exception as exc:  # crafted EXIF and the like: the same message as any unreadable photo
        log.info("photo refused: %s unreadable after decoding (%s)", opened.fmt, type(exc).__name__)
        raise PhotoRejected(_UNREADABLE.format(label=label)) from None
    mime, ext = ACCEPTED_FORMATS[opened.fmt]
    return IncomingPhoto(
        data=opened.data,
        sha256=hashlib.sha256(opened.data).hexdigest(),
        format=opened.fmt,
        mime=mime,
        ext=ext,
        width=width,
        height=height,
        phash=phash,
        exif_taken_at=taken_at,
        original_name=opened.name,
        image=oriented,
    )


def _bomb_message(label: str, size: tuple[int, int] | None, settings: Settings) -> str:
    limit = f"{settings.max_image_pixels / 1e6:.0f} megapixels"
    dims = f" ({size[0]} x {size[1]} pixels)" if size else ""
    return f"{label} is too large{dims}; the limit is {limit}: please send a smaller photo."


def read_photo(source: PhotoSource, *, index: int, settings: Settings) -> IncomingPhoto:
    """Check and decode one upload; `index` counts from 1 and appears in messages."""
    return _decode(_open(source, index, settings), settings)


def read_photos(sources: Sequence[PhotoSource] | None, settings: Settings) -> list[IncomingPhoto]:
    """Check every photo of one submission; the first bad one raises PhotoRejected and nothing is kept.

    Every header is read first, so a submission over `max_pixels_per_claim` is refused before any decoding.
    The same file sent twice counts once.
    """
    sources = list(sources or [])
    if len(sources) > settings.max_photos:
        raise PhotoRejected(
            f"You sent {len(sources)} photos; please send at most {settings.max_photos} "
            "(the clearest ones of the damage and of the packaging)."
        )
    opened = [_open(source, index, settings) for index, source in enumerate(sources, start=1)]
    check_pixel_budget([o.decode_pixels for o in opened], settings)
    if len(opened) <= 1:
        decoded = [_decode(o, settings) for o in opened]
    else:
        # Pillow releases the GIL while decoding, so the photos of one claim decode side by side.
        with ThreadPoolExecutor(max_workers=min(len(opened), _DECODE_WORKERS)) as pool:
            futures = [pool.submit(_decode, o, settings) for o in opened]
            decoded = [future.result() for future in futures]  # the first bad photo, by position, raises
    photos: list[IncomingPhoto] = []
    seen: set[str] = set()
    for photo in decoded:
        if photo.sha256 not in seen:
            seen.add(photo.sha256)
            photos.append(photo)
    return photos


def check_pixel_budget(decode_pixels: Sequence[int], settings: Settings) -> None:
    """Refuse a submission whose photos together would decode to more than `max_pixels_per_claim`."""
    total = sum(decode_pixels)
    if total > settings.max_pixels_per_claim:
        raise PhotoRejected(
            f"These photos are too large together ({total / 1e6:.0f} megapixels once opened; the limit is "
            f"{settings.max_pixels_per_claim / 1e6:.0f}): please send fewer photos, or smaller ones "
            "(a normal phone photo is fine)."
        )


def reduced(photo: IncomingPhoto) -> IncomingPhoto:
    """The photo as we keep it when its order is unknown: its decoded copy as a JPEG, addressed by the
    SHA-256 of those bytes. The perceptual hash (fraud matching) is the same as the original's."""
    if photo.reduced:
        return photo
    out = io.BytesIO()
    photo.image.save(out, format="JPEG", quality=REDUCED_QUALITY)
    data = out.getvalue()
    mime, ext = ACCEPTED_FORMATS["JPEG"]
    return replace(
        photo, data=data, sha256=hashlib.sha256(data).hexdigest(), format="JPEG", mime=mime, ext=ext, reduced=True
    )


def preview(source: str | os.PathLike, *, max_side: int, settings: Settings) -> Image.Image | None:
    """A small RGB thumbnail of an upload for the page, under the intake's checks (size, format allow-list,
    pixel limit) and its decode budget; None when it is not a photo we would accept or we are busy.

    Cheap by design: a JPEG decodes at reduced scale; anything else only when it is small enough.
    """
    try:
        opened = _open(source, 1, settings)
    except (PhotoRejected, TypeError):
        return None
    image = opened.image
    try:
        if opened.fmt != "JPEG" and opened.decode_pixels > PREVIEW_MAX_FULL_DECODE:
            return None  # a PNG, WEBP or HEIC decodes at full size: too costly for a preview
        with decode_budget(settings).hold(opened.decode_pixels, wait=0):
            image.draft("RGB", (max_side * 2, max_side * 2))
            exif = load_reduced(image)
            thumb = working_copy(image, exif, opened.size)
        thumb.thumbnail((max_side, max_side))
        return thumb
    except Exception:  # unreadable, damaged or busy: the page says "not a photo we can read"
        return None
    finally:
        image.close()


# A preview decodes a PNG, WEBP or HEIC at full size: only up to this many pixels (a screenshot; a phone's
# HEIC photo gets no preview, and is still checked in full when sent).
PREVIEW_MAX_FULL_DECODE = 4_000_000


class PhotoStore:
    """Original photo files under `root/ab/abcdef...<sha256>.<ext>`: written once, never changed."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path_for(self, sha256: str, ext: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256) or ext not in {e for _, e in ACCEPTED_FORMATS.values()}:
            raise ValueError("not a stored photo name")
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def save(self, photo: IncomingPhoto) -> Path:
        """Write the original bytes unless already stored; atomic, so a crash leaves no half file."""
        path = self.path_for(photo.sha256, photo.ext)
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(photo.data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def save_all(self, photos: Iterable[IncomingPhoto]) -> list[Path]:
        return [self.save(photo) for photo in photos]
