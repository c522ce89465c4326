"""Photo intake: what gets in, what stays out (with a message), and that a bad photo stores nothing."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from claims.config import Settings
from claims.errors import PhotoRejected
from claims.fraud import PHOTO_HASH_HEX_LENGTH, hamming
from claims.photos import PhotoStore, preview, read_photo, read_photos, reduced, sniff_format
from vision_models.decode import WORKING_SIDE


@pytest.fixture
def settings() -> Settings:
    return Settings(max_photo_bytes=2 * 1024 * 1024, max_image_pixels=4_000_000, max_photos=3)


def encode(fmt: str, size=(640, 480), color=(180, 40, 40), exif: Image.Exif | None = None, **kw) -> bytes:
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    rng = np.random.default_rng(0)  # deterministic texture, so two encodings show the same picture
    image = Image.fromarray(rng.integers(60, 200, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    image.paste(color, (0, 0, size[0] // 2, size[1] // 2))
    buffer = io.BytesIO()
    if exif is not None:
        kw["exif"] = exif
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "fmt, mime, ext",
    [
        ("JPEG", "image/jpeg", "jpg"),
        ("PNG", "image/png", "png"),
        ("WEBP", "image/webp", "webp"),
        ("HEIF", "image/heic", "heic"),
    ],
)
def test_accepts_each_supported_format_detected_by_content(fmt, mime, ext, settings):
    photo = read_photo(("misleading-name.txt", encode(fmt)), index=1, settings=settings)
    assert (photo.format, photo.mime, photo.ext) == (fmt, mime, ext)
    assert (photo.width, photo.height) == (640, 480)
    assert photo.image.mode == "RGB"
    assert len(photo.phash) == PHOTO_HASH_HEX_LENGTH and len(photo.sha256) == 64


@pytest.mark.parametrize(
    "name, payload",
    [
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10"/></svg>'),
        ("page.html", b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>"),
        ("scan.pdf", b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF"),
        ("anim.gif", None),
        ("photo.jpg", b"this is plain text pretending to be a jpeg"),
    ],
)
def test_rejects_other_file_types_whatever_their_name(name, payload, settings):
    if payload is None:
        buffer = io.BytesIO()
        Image.new("RGB", (300, 300), (1, 2, 3)).save(buffer, format="GIF")
        payload = buffer.getvalue()
    with pytest.raises(PhotoRejected) as err:
        read_photo((name, payload), index=2, settings=settings)
    assert str(err.value) == (
        f"photo 2 ({name}) is not a picture we can read: please send a JPEG, PNG, WEBP or HEIC photo."
    )


def test_rejects_a_zero_byte_file(settings):
    with pytest.raises(PhotoRejected, match="empty"):
        read_photo(("empty.jpg", b""), index=1, settings=settings)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_rejects_truncated_files(fmt, settings):
    data = encode(fmt)
    with pytest.raises(PhotoRejected, match="damaged or incomplete|not a picture"):
        read_photo(("cut." + fmt.lower(), data[: len(data) // 2]), index=1, settings=settings)


def test_rejects_a_jpeg_with_garbage_after_the_header(settings):
    data = bytearray(encode("JPEG"))
    data[600:] = b"\x00" * (len(data) - 600)
    with pytest.raises(PhotoRejected):
        read_photo(bytes(data), index=1, settings=settings)


def test_rejects_a_decompression_bomb_before_decoding_it(settings):
    buffer = io.BytesIO()
    Image.new("1", (3000, 3000)).save(buffer, format="PNG")  # 9 megapixels in a few kilobytes
    with pytest.raises(PhotoRejected, match="too large .3000 x 3000 pixels.; the limit is 4 megapixels"):
        read_photo(("bomb.png", buffer.getvalue()), index=1, settings=settings)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size; its pixel data is a few bytes (never reached if checks work)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def test_rejects_a_bomb_beyond_pillows_own_limit():
    # 40000 x 40000 is past twice Pillow's MAX_IMAGE_PIXELS, where Pillow itself raises on open.
    with pytest.raises(PhotoRejected, match="too large"):
        read_photo(png_header_only(40000, 40000), index=1, settings=Settings(max_image_pixels=2_000_000_000))


def test_rejects_a_file_over_the_size_limit_before_reading_it(tmp_path, settings, monkeypatch):
    big = tmp_path / "huge.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"\x00" * (settings.max_photo_bytes + 10))
    opened = []
    monkeypatch.setattr("pathlib.Path.open", lambda *a, **k: opened.append(a) or (_ for _ in ()).throw(AssertionError))
    with pytest.raises(PhotoRejected, match=r"photo 1 \(huge.jpg\) is 2.0 MB; the limit is 2.0 MB"):
        read_photo(big, index=1, settings=settings)
    assert opened == []


def test_rejects_too_many_photos_before_reading_any(settings):
    with pytest.raises(PhotoRejected, match="You sent 4 photos; please send at most 3"):
        read_photos([b"not even read"] * 4, settings)


def test_one_bad_photo_rejects_the_whole_submission(settings):
    with pytest.raises(PhotoRejected, match=r"photo 2 \(notes.txt\)"):
        read_photos([encode("JPEG"), ("notes.txt", b"hello"), encode("PNG")], settings)


def test_applies_exif_orientation_and_reports_oriented_size(settings):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    photo = read_photo(encode("JPEG", size=(400, 300), exif=exif), index=1, settings=settings)
    assert (photo.width, photo.height) == (300, 400)
    assert photo.image.size == (300, 400)


def test_reads_exif_capture_time_with_its_offset(settings):
    exif = Image.Exif()
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = "2024:05:06 10:30:00"
    exif_ifd[0x9011] = "+02:00"
    photo = read_photo(encode("JPEG", exif=exif), index=1, settings=settings)
    assert photo.exif_taken_at == datetime(2024, 5, 6, 8, 30, tzinfo=UTC)


def test_photo_without_exif_has_no_capture_time(settings):
    assert read_photo(encode("PNG"), index=1, settings=settings).exif_taken_at is None


def test_large_jpeg_is_decoded_at_reduced_size_but_reports_its_full_size():
    settings = Settings(max_image_pixels=20_000_000)
    photo = read_photo(encode("JPEG", size=(4000, 3000)), index=1, settings=settings)
    assert (photo.width, photo.height) == (4000, 3000)
    assert max(photo.image.size) <= WORKING_SIDE


def test_transparent_png_is_flattened_on_white(settings):
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(buffer, format="PNG")
    photo = read_photo(buffer.getvalue(), index=1, settings=settings)
    assert photo.image.getpixel((10, 10)) == (255, 255, 255)


def test_same_photo_twice_counts_once(settings):
    data = encode("JPEG")
    assert len(read_photos([data, ("copy.jpg", data)], settings)) == 1


def test_phash_survives_reencoding(settings):
    from PIL import ImageDraw

    picture = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    ImageDraw.Draw(picture).ellipse((100, 80, 400, 380), fill=(200, 60, 30))
    encoded = []
    for fmt, kw in (("PNG", {}), ("JPEG", {"quality": 60})):
        buffer = io.BytesIO()
        picture.save(buffer, format=fmt, **kw)
        encoded.append(read_photo(buffer.getvalue(), index=1, settings=settings))
    a, b = encoded
    assert a.sha256 != b.sha256
    assert hamming(a.phash, b.phash) <= 8


def test_store_writes_each_photo_once_under_its_hash(tmp_path, settings):
    store = PhotoStore(tmp_path / "photos")
    photo = read_photo(encode("WEBP"), index=1, settings=settings)
    path = store.save(photo)
    assert path == tmp_path / "photos" / photo.sha256[:2] / f"{photo.sha256}.webp"
    assert path.read_bytes() == photo.data
    mtime = path.stat().st_mtime_ns
    assert store.save(photo) == path and path.stat().st_mtime_ns == mtime
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left


@pytest.mark.parametrize("sha, ext", [("../../etc/passwd", "jpg"), ("a" * 64, "svg"), ("A" * 64, "jpg")])
def test_store_refuses_names_that_are_not_photo_hashes(tmp_path, sha, ext):
    with pytest.raises(ValueError):
        PhotoStore(tmp_path).path_for(sha, ext)


@pytest.mark.parametrize(
    "head, fmt",
    [
        (b"\xff\xd8\xff\xe0", "JPEG"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"RIFF\x00\x00\x00\x00WEBP", "WEBP"),
        (b"\x00\x00\x00\x18ftypheic", "HEIF"),
        (b"\x00\x00\x00\x18ftypavif", None),
        (b"GIF89a", None),
        (b"<svg", None),
        (b"%PDF", None),
    ],
)
def test_sniffs_format_from_magic_bytes(head, fmt):
    assert sniff_format(head) == fmt


def test_capture_time_without_an_offset_stays_naive_because_its_zone_is_unknown(settings):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 10:30:00"
    photo = read_photo(encode("JPEG", exif=exif), index=1, settings=settings)
    assert photo.exif_taken_at == datetime(2024, 5, 6, 10, 30)
    assert photo.exif_taken_at.tzinfo is None


# --- crafted EXIF, reduced copies, previews ------------------------------------------------------------


@pytest.mark.parametrize(
    ("taken", "offset"),
    [
        ("2024:05:06 10:30:00", "+25:00"),  # no such zone: timezone() would raise
        ("0001:01:01 00:00:00", "+02:00"),  # before year 1 once turned to UTC: OverflowError
        ("9999:12:31 23:59:59", "-02:00"),  # after year 9999 once turned to UTC
        ("0001:01:01 00:00:00", None),  # naive, but the fraud check's zone margin would overflow
        ("9999:12:31 23:59:59", None),
        ("2024:05:06 10:30:00", "+02:99"),
    ],
)
def test_crafted_exif_time_is_ignored_and_the_photo_still_accepted(settings, taken, offset):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = taken
    if offset is not None:
        exif.get_ifd(0x8769)[0x9011] = offset
    photo = read_photo(encode("JPEG", exif=exif), index=1, settings=settings)
    if taken.startswith(("0001", "9999")):
        assert photo.exif_taken_at is None
    else:
        assert photo.exif_taken_at == datetime(2024, 5, 6, 10, 30)  # the bad offset is ignored, the time kept


def test_reduced_copy_is_a_small_jpeg_addressed_by_its_own_bytes_with_the_same_perceptual_hash():
    original = read_photo(encode("PNG", size=(2400, 1800)), index=1, settings=Settings())
    small = reduced(original)
    assert small.reduced and small.format == "JPEG" and small.ext == "jpg"
    assert small.sha256 == hashlib.sha256(small.data).hexdigest() != original.sha256
    assert small.phash == original.phash  # fraud matching sees the same picture
    assert (small.width, small.height) == (2400, 1800)  # the facts about the photo the customer took
    with Image.open(io.BytesIO(small.data)) as stored:
        assert stored.format == "JPEG" and max(stored.size) <= WORKING_SIDE
    assert len(small.data) < len(original.data)


def test_a_photo_whose_decoding_fails_after_its_header_gets_the_unreadable_message(settings, monkeypatch):
    import claims.photos as photos_module

    def broken(*_args, **_kwargs):
        raise OverflowError("date value out of range /work/secret/path.py")

    monkeypatch.setattr(photos_module, "_exif_time", broken)
    with pytest.raises(PhotoRejected) as refused:
        read_photo(("x.jpg", encode("JPEG")), index=1, settings=settings)
    assert "not a picture we can read" in str(refused.value) and "/work" not in str(refused.value)


def test_preview_is_small_and_refuses_what_intake_refuses(tmp_path):
    settings = Settings()
    good = tmp_path / "good.jpg"
    good.write_bytes(encode("JPEG", size=(4000, 3000)))
    thumb = preview(good, max_side=220, settings=settings)
    assert thumb is not None and max(thumb.size) <= 220
    refused = {
        "bomb.png": png_header_only(40000, 40000),
        "notes.txt": b"hello",
        "anim.gif": b"GIF89a" + b"\x00" * 64,
        # a PNG decodes at full size: above 4 MP a preview is not worth its cost
        "big.png": png_header_only(3000, 3000),
    }
    for name, data in refused.items():
        (tmp_path / name).write_bytes(data)
        assert preview(tmp_path / name, max_side=220, settings=settings) is None, name
