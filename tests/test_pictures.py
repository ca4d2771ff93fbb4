"""Pictures opened safely (issue 23 #5): a picture's size in pixels is checked from its header before
anything decodes it, and the small copies the Library shows are made from a reduced decode."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from sandbox.inputs import BadInput, open_image
from studio.media import FILE_PREFIX, THUMB_WIDTH, MediaStore
from studio.pictures import MAX_PICTURE_PIXELS, PictureTooLarge, open_picture, preview_jpeg

from .conftest import huge_png


def jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 120, 200)).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


@pytest.mark.parametrize(("width", "height"), [(30000, 30000), (12000, 12000), (8000, 6251)])
def test_a_picture_of_too_many_pixels_is_named_by_its_size_without_being_decoded(width, height) -> None:
    """30000² is past even Pillow's own limit (which would only say 'decompression bomb'); 12000² and
    8000×6251 are under it but over ours: each is refused in the same words, from the header alone."""
    assert width * height > MAX_PICTURE_PIXELS
    with pytest.raises(PictureTooLarge) as refused:
        open_picture(huge_png(width, height))
    assert str(refused.value).startswith(
        f"This picture is {width}×{height} pixels; the most is 50 million pixels"
    )
    with open_picture(huge_png(8000, 6000)) as allowed:  # 48 million: allowed
        assert allowed.size == (8000, 6000)


def test_the_library_shows_a_small_copy_of_a_big_reference_and_words_for_one_too_big(tmp_path) -> None:
    media = MediaStore(tmp_path / "media")
    big = media.keep_upload(jpeg((6000, 4000)), ".jpg")
    shown = media.preview(big)
    with Image.open(io.BytesIO(shown)) as small:
        assert small.format == "JPEG" and small.width == THUMB_WIDTH and small.height in (213, 214)
    assert media.preview(big) == shown  # made once, kept

    bomb = media.keep_upload(huge_png(12000, 12000), ".png")  # kept before uploads were checked
    with pytest.raises(PictureTooLarge, match="12000×12000 pixels"):
        media.preview(bomb)
    assert media.make_image_thumbnail(bomb[len(FILE_PREFIX) :], "bomb") is None
    assert media.preview("https://cdn.example/cat.png") == "https://cdn.example/cat.png"


def test_the_sandbox_refuses_a_reference_of_too_many_pixels_before_decoding_it() -> None:
    """The stand-in service is sent what a client sends: the bomb is a 400 with words, not 2.7 GB."""
    for width in (30000, 12000):
        with pytest.raises(BadInput, match=f"url is {width}x{width} pixels|more than 50,000,000 pixels"):
            open_image(huge_png(width, width))
    assert open_image(jpeg((640, 480))).size == (640, 480)


def test_an_upload_is_previewed_from_a_small_copy_and_a_bomb_only_in_words() -> None:
    shown = preview_jpeg(jpeg((4000, 3000)), 160)
    with Image.open(io.BytesIO(shown)) as small:
        assert small.size == (320, 240)  # twice the width shown, for sharp screens
    assert preview_jpeg(b"not a picture", 160) is None
    with pytest.raises(PictureTooLarge, match="30000×30000 pixels"):
        preview_jpeg(huge_png(30000, 30000), 160)
