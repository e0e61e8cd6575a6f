from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from desktop_sd.core.errors import InputError
from desktop_sd.core.images import normalize_mask, open_image


def test_cmyk_16bit_palette_and_alpha_images_become_rgb(tmp_path: Path) -> None:
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(cmyk)
    sixteen = tmp_path / "16.png"
    Image.new("I;16", (32, 32), 65535).save(sixteen)
    palette = tmp_path / "p.png"
    p = Image.new("P", (32, 32), 0)
    p.putpalette([255, 0, 0] * 256)
    p.info["transparency"] = 0
    p.save(palette, transparency=0)
    rgba = tmp_path / "rgba.png"
    Image.new("RGBA", (32, 32), (0, 0, 0, 0)).save(rgba)
    for path in (cmyk, sixteen, palette, rgba):
        image, notices = open_image(path)
        assert image.mode == "RGB" and image.size == (32, 32), path
        assert notices, path  # the user is told what was converted
    assert open_image(sixteen)[0].getpixel((0, 0)) == (255, 255, 255)
    assert open_image(rgba)[0].getpixel((0, 0)) == (255, 255, 255)  # transparent → white


def test_exif_rotated_photo_is_turned_upright(tmp_path: Path) -> None:
    image = Image.new("RGB", (40, 20), "red")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    upright, notices = open_image(path)
    assert upright.size == (20, 40)
    assert any("EXIF" in n for n in notices)


def test_truncated_and_non_image_files_give_clear_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    Image.effect_noise((64, 64), 50).convert("RGB").save(good)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(InputError, match="damaged or truncated"):
        open_image(truncated)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(InputError, match="not an image"):
        open_image(text)
    with pytest.raises(InputError, match="not found"):
        open_image(tmp_path / "missing.png")


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (10000, 10000)).save(path)
    with pytest.raises(InputError, match=r"decompression bomb|too large"):
        open_image(path)


def test_mask_of_other_size_and_soft_values_is_resized_and_thresholded() -> None:
    soft = Image.linear_gradient("L").resize((32, 32))
    mask, notices = normalize_mask(soft, (64, 64))
    assert mask.size == (64, 64) and set(mask.getdata()) <= {0, 255}
    assert len(notices) == 2


def test_rgba_mask_uses_its_alpha_and_empty_mask_is_refused() -> None:
    rgba = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    rgba.putpixel((3, 3), (0, 0, 0, 255))
    mask, _ = normalize_mask(rgba, (16, 16))
    assert mask.getpixel((3, 3)) == 255 and mask.getpixel((0, 0)) == 0
    with pytest.raises(InputError, match="empty"):
        normalize_mask(Image.new("L", (16, 16), 0), (16, 16))
