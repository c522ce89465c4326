"""Photo intake: check every uploaded file, decode it once, and store the original bytes by SHA-256.

What gets in: JPEG, PNG, WEBP and HEIC, recognised by their content (magic bytes, then Pillow restricted
to that one format), never by file name. What stays out, each with a message the customer can act on:
other types (SVG, HTML, PDF, GIF ...), empty, corrupt or truncated files (every photo is fully decoded),
decompression bombs (pixel count checked from the header before decoding), files over the size limit
(checked before reading), and more photos than allowed. A submission is validated as a whole before
anything is stored, so a bad photo changes nothing.

Each accepted photo is decoded exactly once, into a reduced RGB copy in its EXIF orientation, by
`vision_models.decode` (the decode training and evaluation use too); that copy feeds the perceptual hash
(`claims.fraud.phash_of`), the quality checks and the vision model. The stored file is the original bytes.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

from claims.config import Settings
from claims.errors import PhotoRejected
from claims.fraud import phash_of
from claims.models import StoredPhoto
from vision_models.decode import load_reduced, open_image, oriented_size, working_copy

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
    offset = sub.get(_TAG_OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str):
        match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", offset.strip().rstrip("\x00"))
        if match:
            sign = 1 if match.group(1) == "+" else -1
            tz = timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
            return moment.replace(tzinfo=tz).astimezone(UTC)
    return moment


def _decode(data: bytes, fmt: str, label: str, settings: Settings) -> tuple[Image.Image, int, int, Image.Exif]:
    """Fully decode one photo through `vision_models.decode`, checking it on the way; raise PhotoRejected if we cannot."""
    unreadable = f"{label} is not a picture we can read: please send a JPEG, PNG, WEBP or HEIC photo."
    damaged = f"{label} is damaged or incomplete (it could not be read to the end): please attach it again."
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = open_image(data, formats=[fmt])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoRejected(_bomb_message(label, None, settings)) from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
            raise PhotoRejected(unreadable) from exc
        width, height = image.size
        if width * height > settings.max_image_pixels or width <= 0 or height <= 0:
            raise PhotoRejected(_bomb_message(label, (width, height), settings))
        try:
            exif = load_reduced(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoRejected(_bomb_message(label, (width, height), settings)) from None
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError) as exc:
            raise PhotoRejected(damaged) from exc
    oriented = working_copy(image, exif, (width, height))
    width, height = oriented_size((width, height), exif)
    return oriented, width, height, exif


def _bomb_message(label: str, size: tuple[int, int] | None, settings: Settings) -> str:
    limit = f"{settings.max_image_pixels / 1e6:.0f} megapixels"
    dims = f" ({size[0]} x {size[1]} pixels)" if size else ""
    return f"{label} is too large{dims}; the limit is {limit}: please send a smaller photo."


def read_photo(source: PhotoSource, *, index: int, settings: Settings) -> IncomingPhoto:
    """Check and decode one upload; `index` counts from 1 and appears in messages."""
    data, name = _read_source(source, index, settings)
    label = _label(index, name)
    fmt = sniff_format(data[:16])
    if fmt is None:
        raise PhotoRejected(f"{label} is not a picture we can read: please send a JPEG, PNG, WEBP or HEIC photo.")
    image, width, height, exif = _decode(data, fmt, label, settings)
    mime, ext = ACCEPTED_FORMATS[fmt]
    return IncomingPhoto(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        mime=mime,
        ext=ext,
        width=width,
        height=height,
        phash=phash_of(image),
        exif_taken_at=_exif_time(exif),
        original_name=name,
        image=image,
    )


def read_photos(sources: Sequence[PhotoSource] | None, settings: Settings) -> list[IncomingPhoto]:
    """Check every photo of one submission; the first bad one raises PhotoRejected and nothing is kept.

    The same file sent twice counts once.
    """
    sources = list(sources or [])
    if len(sources) > settings.max_photos:
        raise PhotoRejected(
            f"You sent {len(sources)} photos; please send at most {settings.max_photos} "
            "(the clearest ones of the damage and of the packaging)."
        )
    if len(sources) <= 1:
        decoded = [read_photo(source, index=1, settings=settings) for source in sources]
    else:
        # Pillow releases the GIL while decoding, so the photos of one claim decode side by side.
        with ThreadPoolExecutor(max_workers=min(len(sources), _DECODE_WORKERS)) as pool:
            futures = [
                pool.submit(read_photo, source, index=index, settings=settings)
                for index, source in enumerate(sources, start=1)
            ]
            decoded = [future.result() for future in futures]  # the first bad photo, by position, raises
    photos: list[IncomingPhoto] = []
    seen: set[str] = set()
    for photo in decoded:
        if photo.sha256 not in seen:
            seen.add(photo.sha256)
            photos.append(photo)
    return photos


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
