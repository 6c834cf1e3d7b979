"""preprocessor_config.json: a Hugging Face image processor read as settings, as untrusted input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from clip_models import CLIP_MEAN, CLIP_STD, SIZE, write_pair, write_preprocessor
from explorer.compute.encoding.image_encoder import ImageEncoder
from explorer.compute.encoding.model_folder import open_model
from explorer.compute.encoding.preprocessor import preprocessor_settings
from explorer.core.errors import InputError


def settings(tmp_path, **changes) -> dict:
    write_preprocessor(tmp_path, **changes)
    return preprocessor_settings(tmp_path / "preprocessor_config.json")


def test_clip_s_processor(tmp_path):
    got = settings(tmp_path)
    assert got == {"crop": "center", "image_size": SIZE, "image_resize": SIZE,
                   "resample": "bicubic", "image_mean": pytest.approx(CLIP_MEAN),
                   "image_std": pytest.approx(CLIP_STD)}


@pytest.mark.parametrize("changes, expected", [
    ({"size": 20, "crop_size": 16}, {"image_size": 16, "image_resize": 20}),  # older exports
    ({"do_center_crop": False, "size": {"height": 24, "width": 24}, "crop_size": None},
     {"crop": "resize", "image_size": 24}),  # ViT: squashed
    ({"resample": 2}, {"resample": "bilinear"}),
    ({"do_normalize": False}, {"image_mean": (0.0, 0.0, 0.0), "image_std": (1.0, 1.0, 1.0)}),
    ({"image_mean": 0.5, "image_std": 0.5}, {"image_mean": (0.5,) * 3, "image_std": (0.5,) * 3}),
])
def test_other_processors(tmp_path, changes, expected):
    got = settings(tmp_path, **changes)
    assert {k: got[k] for k in expected} == expected


def test_a_larger_resize_than_crop_is_followed(tmp_path):
    """Shortest side to 24, then the centre 16 x 16: what CLIPImageProcessor does."""
    folder = write_pair(tmp_path / "clip")
    write_preprocessor(folder, size={"shortest_edge": 24})
    encoder = ImageEncoder(folder)
    assert (encoder.folder.config.image_resize, encoder.size) == (24, SIZE)
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (30, 45, 3), dtype=np.uint8))
    resized = np.asarray(image.resize((36, 24), Image.Resampling.BICUBIC), np.float32) / 255
    crop = resized[4:20, 10:26]
    expected = ((crop - np.asarray(CLIP_MEAN)) / np.asarray(CLIP_STD)).transpose(2, 0, 1)
    np.testing.assert_allclose(encoder.load(image), expected, atol=1e-5)


@pytest.mark.parametrize("changes, message", [
    ({"resample": 1}, "resample the number 1 .lanczos. is not supported"),
    ({"resample": "bicubic"}, "resample the text 'bicubic' is not supported"),
    ({"rescale_factor": 1.0}, "rescale_factor the number 1.0 is not supported"),
    ({"do_rescale": False}, "do_rescale false is not supported"),
    ({"do_center_crop": "yes"}, "do_center_crop must be true or false"),
    ({"crop_size": {"height": 16, "width": 12}}, "crop_size is 16 x 12: only square"),
    ({"crop_size": 10 ** 9}, "crop_size must be a whole number from 1 to 2,048"),
    ({"size": {"longest_edge": 16}}, "size must be a number, .* not an object with longest_edge"),
    ({"size": {"shortest_edge": -1}}, "size.shortest_edge must be a whole number"),
    ({"size": {"shortest_edge": 8}}, "size 8 is smaller than crop_size 16"),
    ({"image_mean": [0.5, 0.5]}, "image_mean must be a list of three numbers"),
    ({"image_std": [0.5, 0.5, 0.0]}, "image_std must be a list of three numbers"),
])
def test_what_cannot_be_followed_is_named(tmp_path, changes, message):
    folder = write_pair(tmp_path / "clip")
    write_preprocessor(folder, **changes)
    with pytest.raises(InputError, match=message) as info:
        open_model(folder)
    assert info.value.path == str(folder / "preprocessor_config.json")


def test_explorer_model_json_overrides_the_processor(tmp_path):
    folder = write_pair(tmp_path / "clip", config={"resample": "bilinear",
                                                   "image_mean": [0.5, 0.5, 0.5]})
    write_preprocessor(folder, resample=1)  # lanczos, refused unless overridden
    config = open_model(folder).config
    assert config.resample == "bilinear" and config.image_mean == (0.5, 0.5, 0.5)
    assert config.image_std == pytest.approx(CLIP_STD)  # the rest still from the processor


@pytest.mark.parametrize("content, message", [
    (b"[]", "the image preprocessor settings must be a JSON object, not a list"),
    (b"{", "cannot read the image preprocessor settings"),
    (b"\xff\xfe", "the image preprocessor settings are not UTF-8 text"),
    (b"[" * 100_000, "nested too deeply|cannot read"),
    (b'{"image_mean": NaN}', "NaN is not a number"),
    (b" " * (2 << 20), "larger than 1024 kB"),
])
def test_a_file_that_is_not_a_processor_config_is_refused(tmp_path, content, message):
    folder = write_pair(tmp_path / "clip")
    (folder / "preprocessor_config.json").write_bytes(content)
    with pytest.raises(InputError, match=message):
        open_model(folder)


def test_a_text_model_ignores_a_processor_file(tmp_path):
    from onnx_models import bert_like, write_folder

    folder = write_folder(tmp_path / "m", bert_like())
    (folder / "preprocessor_config.json").write_text(json.dumps({"resample": 1}))
    assert open_model(folder).config.modality == "text"


def test_a_hostile_file_handed_to_the_encoder_is_refused_undecoded(tmp_path, monkeypatch):
    """The encoder may get paths the input planning never saw (the Python API): PostScript
    named .jpg is not opened as EPS (decoding it runs Ghostscript), and an image over Pillow's
    pixel limit is refused before its pixels are decoded, not after a warning."""
    encoder = ImageEncoder(write_pair(tmp_path / "clip"))
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    with pytest.raises(InputError, match="cannot decode the image"):
        encoder.load(fake)
    big = tmp_path / "big.png"
    Image.new("RGB", (64, 64)).save(big)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)  # under twice: Pillow only warns
    with pytest.raises(InputError, match="64 x 64 pixels"):
        encoder.load(big)
