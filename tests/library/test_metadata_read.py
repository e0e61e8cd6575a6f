"""Reading what other tools embed: each format built here, including broken ones."""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path

import pytest
from PIL import Image

from desktop_sd.core.request import Mode
from desktop_sd.library.metadata import decode_user_comment, read_parameters
from tests.library import samples


def test_a1111_png(tmp_path: Path) -> None:
    parsed = read_parameters(samples.png(tmp_path / "a.png", {"parameters": samples.A1111_TEXT}))
    assert parsed is not None and parsed.source == "AUTOMATIC1111"
    assert parsed.prompt == "masterpiece, a lighthouse at dusk, (dramatic sky:1.2)"
    assert parsed.negative_prompt == "lowres, bad anatomy"
    assert (parsed.steps, parsed.cfg_scale, parsed.seed) == (28, 6.5, 3141592653)
    assert (parsed.width, parsed.height, parsed.model) == (512, 768, "dreamshaper_8")
    assert parsed.scheduler == "dpmpp_2m_karras" and parsed.sampler == "DPM++ 2M Karras"
    assert parsed.extra["Lora hashes"] == "add_detail: 7c6bad76eb54, more: 1"
    assert parsed.extra["Model hash"] == "c0d1994c73"
    request = parsed.to_request()
    assert (request.prompt, request.seed, request.scheduler, request.width) == (
        parsed.prompt,
        3141592653,
        "dpmpp_2m_karras",
        512,
    )


def test_a1111_old_style_sampler_name_and_img2img(tmp_path: Path) -> None:
    text = "a boat\nSteps: 20, Sampler: DPM++ SDE Karras, CFG scale: 7, Seed: 5, Size: 512x512, Denoising strength: 0.4"
    parsed = read_parameters(samples.png(tmp_path / "a.png", {"parameters": text}))
    assert parsed is not None
    assert parsed.scheduler == "dpmpp_sde_karras" and parsed.mode is Mode.IMG2IMG and parsed.strength == 0.4


def test_a1111_prompt_only_and_trailing_extension_lines(tmp_path: Path) -> None:
    only = read_parameters(samples.png(tmp_path / "p.png", {"parameters": "just a prompt, nothing else"}))
    assert only is not None and only.prompt == "just a prompt, nothing else" and only.steps is None
    text = samples.A1111_TEXT + "\nTemplate: a {lighthouse|tower}\nNegative Template: lowres"
    parsed = read_parameters(samples.png(tmp_path / "t.png", {"parameters": text}))
    assert parsed is not None and parsed.seed == 3141592653 and "Template" in parsed.extra["Trailing text"]


def test_text_chunk_after_the_image_data_is_found(tmp_path: Path) -> None:
    path = samples.png(tmp_path / "late.png", {}, after_image={"parameters": samples.A1111_TEXT})
    parsed = read_parameters(path)
    assert parsed is not None and parsed.seed == 3141592653


def test_compressed_itxt_chunk(tmp_path: Path) -> None:
    text = samples.A1111_TEXT.replace("lighthouse", "phare ☀")
    payload = b"parameters\0\x01\x00\0\0" + zlib.compress(text.encode("utf-8"))
    parsed = read_parameters(samples.png_with_raw_chunk(tmp_path / "z.png", b"iTXt", payload))
    assert parsed is not None and "phare ☀" in parsed.prompt


def test_a_zip_bomb_chunk_is_ignored_not_inflated(tmp_path: Path) -> None:
    payload = b"parameters\0\0" + zlib.compress(b"a" * (64 * 1024 * 1024), 9)
    assert read_parameters(samples.png_with_raw_chunk(tmp_path / "bomb.png", b"zTXt", payload)) is None


@pytest.mark.parametrize("little_endian", [False, True])
def test_a1111_jpeg_exif_user_comment(tmp_path: Path, little_endian: bool) -> None:
    parsed = read_parameters(samples.a1111_jpeg(tmp_path / "a.jpg", little_endian=little_endian))
    assert parsed is not None and parsed.source == "AUTOMATIC1111"
    assert parsed.seed == 3141592653 and parsed.negative_prompt == "lowres, bad anatomy"


def test_a1111_webp_exif_user_comment(tmp_path: Path) -> None:
    path = samples.exif_image(tmp_path / "a.webp", "WEBP", b"UNICODE\0" + samples.A1111_TEXT.encode("utf-16-be"))
    parsed = read_parameters(path)
    assert parsed is not None and parsed.model == "dreamshaper_8"


def test_user_comment_decoding() -> None:
    assert decode_user_comment(b"UNICODE\0" + "héllo".encode("utf-16-be")) == "héllo"
    assert decode_user_comment(b"UNICODE\0" + "héllo".encode("utf-16-le")) == "héllo"
    assert decode_user_comment(b"UNICODE\0\xff\xfe" + "bom".encode("utf-16-le")) == "bom"
    assert decode_user_comment(b"ASCII\0\0\0plain") == "plain"
    assert decode_user_comment(b"UNICODE\0\x00") == ""  # odd length: replaced, never raises


def test_comfyui_follows_links_from_the_sampler(tmp_path: Path) -> None:
    parsed = read_parameters(samples.comfy_png(tmp_path / "c.png"))
    assert parsed is not None and parsed.source == "ComfyUI"
    assert parsed.prompt == "beautiful scenery, glass bottle" and parsed.negative_prompt == "text, watermark"
    assert parsed.model == "v1-5-pruned-emaonly.safetensors"
    assert (parsed.width, parsed.height, parsed.steps, parsed.cfg_scale) == (512, 768, 20, 8.0)
    assert parsed.seed == 156680208700286 and parsed.scheduler == "dpmpp_2m_karras"
    assert parsed.mode is Mode.TXT2IMG


def test_comfyui_complex_graph_reads_the_first_pass(tmp_path: Path) -> None:
    parsed = read_parameters(samples.comfy_png(tmp_path / "c.png", samples.COMFY_COMPLEX))
    assert parsed is not None
    assert parsed.prompt == "a knight, golden armor\ncastle background"
    assert parsed.negative_prompt == "ugly"
    assert parsed.seed == 42 and parsed.steps == 30 and parsed.scheduler == "euler_a"
    assert parsed.model == "sdxl/juggernaut.safetensors" and (parsed.width, parsed.height) == (1024, 1024)
    assert parsed.extra["samplers"] == "2"


def test_comfyui_workflow_only(tmp_path: Path) -> None:
    path = samples.png(tmp_path / "w.png", {"workflow": json.dumps(samples.COMFY_WORKFLOW)})
    parsed = read_parameters(path)
    assert parsed is not None and parsed.source == "ComfyUI"
    assert (parsed.prompt, parsed.negative_prompt) == ("a watercolor fox", "photo")
    assert (parsed.seed, parsed.steps, parsed.width, parsed.height) == (99, 25, 640, 448)


@pytest.mark.parametrize(
    "graph",
    [
        "{not json",
        "[1, 2, 3]",
        json.dumps({"1": {"class_type": "KSampler", "inputs": {"seed": 1, "positive": ["404", 0], "steps": "x"}}}),
        json.dumps({"1": "not a node", "2": {"inputs": None}}),
        json.dumps({"1": {"class_type": "KSampler", "inputs": {"seed": 1, "positive": ["1", 0], "steps": 2}}}),
    ],
)
def test_comfyui_broken_graphs_never_raise(tmp_path: Path, graph: str) -> None:
    parsed = read_parameters(samples.comfy_png(tmp_path / "b.png", graph))
    assert parsed is None or parsed.source == "ComfyUI"


def test_comfyui_bad_prompt_falls_back_to_the_workflow(tmp_path: Path) -> None:
    parsed = read_parameters(samples.comfy_png(tmp_path / "b.png", "{broken", samples.COMFY_WORKFLOW))
    assert parsed is not None and parsed.prompt == "a watercolor fox"


def test_invokeai_current(tmp_path: Path) -> None:
    chunks = {"invokeai_metadata": json.dumps(samples.INVOKE_METADATA), "invokeai_graph": "{}"}
    parsed = read_parameters(samples.png(tmp_path / "i.png", chunks))
    assert parsed is not None and parsed.source == "InvokeAI"
    assert (parsed.prompt, parsed.negative_prompt, parsed.model) == (
        "a cozy cabin in the woods",
        "people",
        "Juggernaut XL",
    )
    assert (parsed.width, parsed.height, parsed.seed, parsed.scheduler) == (1024, 832, 2024, "dpmpp_2m_karras")


def test_invokeai_2_sd_metadata(tmp_path: Path) -> None:
    chunks = {"sd-metadata": json.dumps(samples.SD_METADATA), "Dream": '"ignored" -s 1'}
    parsed = read_parameters(samples.png(tmp_path / "i.png", chunks))
    assert parsed is not None and parsed.source == "InvokeAI"
    assert (parsed.prompt, parsed.negative_prompt) == ("a red barn", "blurry, lowres")
    assert parsed.mode is Mode.IMG2IMG and parsed.strength == 0.6 and parsed.scheduler == "euler_a"
    assert parsed.model == "stable-diffusion-1.5" and parsed.seed == 1700


def test_invokeai_1_dream(tmp_path: Path) -> None:
    parsed = read_parameters(samples.png(tmp_path / "d.png", {"Dream": samples.DREAM}))
    assert parsed is not None
    assert (parsed.prompt, parsed.negative_prompt) == ("a cat wearing a hat", "ugly")
    assert (parsed.steps, parsed.seed, parsed.width, parsed.height, parsed.cfg_scale) == (50, 1234, 512, 640, 7.5)
    assert parsed.scheduler == "lms"


def test_dream_with_unbalanced_quotes_still_reads(tmp_path: Path) -> None:
    parsed = read_parameters(samples.png(tmp_path / "d.png", {"Dream": '"a cat -s 20 -S 9'}))
    assert parsed is not None and parsed.seed == 9


def test_fooocus_json_scheme(tmp_path: Path) -> None:
    chunks = {"parameters": json.dumps(samples.FOOOCUS), "fooocus_scheme": "fooocus"}
    parsed = read_parameters(samples.png(tmp_path / "f.png", chunks))
    assert parsed is not None and parsed.source == "Fooocus"
    assert (parsed.prompt, parsed.width, parsed.height, parsed.seed) == ("a dragon over mountains", 1152, 896, 8675309)
    assert parsed.model == "juggernautXL_v8Rundiffusion.safetensors" and parsed.cfg_scale == 4.0


def test_fooocus_a1111_scheme_reads_as_text(tmp_path: Path) -> None:
    chunks = {"parameters": samples.A1111_TEXT, "fooocus_scheme": "a1111"}
    parsed = read_parameters(samples.png(tmp_path / "f.png", chunks))
    assert parsed is not None and parsed.source == "Fooocus" and parsed.seed == 3141592653


def test_novelai(tmp_path: Path) -> None:
    chunks = {
        "Title": "AI generated image",
        "Description": "1girl, cherry blossoms",
        "Software": "NovelAI",
        "Source": "Stable Diffusion XL C1E1DE52",
        "Comment": json.dumps(samples.NOVELAI_COMMENT),
    }
    parsed = read_parameters(samples.png(tmp_path / "n.png", chunks))
    assert parsed is not None and parsed.source == "NovelAI"
    assert (parsed.prompt, parsed.negative_prompt) == ("1girl, cherry blossoms", "lowres, bad hands")
    assert (parsed.seed, parsed.steps, parsed.cfg_scale, parsed.scheduler) == (555, 28, 11.0, "euler_a")
    assert (parsed.width, parsed.height) == (48, 32)  # from the image when the comment has no size


def test_our_own_chunk_wins_and_broken_json_falls_back_to_the_text(tmp_path: Path) -> None:
    chunks = {"desktop_sd": "{not json", "parameters": samples.A1111_TEXT}
    parsed = read_parameters(samples.png(tmp_path / "o.png", chunks))
    assert parsed is not None and parsed.source == "AUTOMATIC1111"


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00",
        b"GIF89a not really",
        b"just some text with a .png name",
        b"\xff\xd8\xff\xe0 truncated jpeg",
    ],
)
def test_damaged_and_foreign_files_give_none(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    assert read_parameters(path) is None


def test_truncated_png_still_yields_its_early_metadata(tmp_path: Path) -> None:
    path = samples.png(tmp_path / "a.png", {"parameters": samples.A1111_TEXT})
    path.write_bytes(path.read_bytes()[:-30])
    parsed = read_parameters(path)
    assert parsed is not None and parsed.seed == 3141592653


def test_no_metadata_and_missing_file_give_none(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jpg"
    Image.new("RGB", (8, 8)).save(plain)
    assert read_parameters(plain) is None
    assert read_parameters(tmp_path / "nope.png") is None
    assert read_parameters(tmp_path) is None


def test_reads_an_opened_image_too(tmp_path: Path) -> None:
    path = samples.png(tmp_path / "a.png", {"parameters": samples.A1111_TEXT})
    with Image.open(path) as image:
        parsed = read_parameters(image)
    assert parsed is not None and parsed.seed == 3141592653
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "PNG")
    assert read_parameters(Image.open(buffer)) is None


def test_non_utf8_and_very_long_paths(tmp_path: Path) -> None:
    folder = tmp_path / ("deep_folder_" * 15) / ("еще_глубже_" * 10)
    folder.mkdir(parents=True)
    long_path = samples.png(folder / ("x" * 200 + ".png"), {"parameters": samples.A1111_TEXT})
    assert len(str(long_path)) > 450
    assert read_parameters(long_path) is not None
    odd = tmp_path / b"\xff\xfe-not-utf8.png".decode("utf-8", "surrogateescape")
    odd.write_bytes(long_path.read_bytes())
    parsed = read_parameters(odd)
    assert parsed is not None and parsed.seed == 3141592653


def test_seeds_past_2_53_are_read_exactly_from_every_format(tmp_path: Path) -> None:
    seed = 6952411511246973023  # through a float it would come back as ...2928
    a1111 = samples.A1111_TEXT.replace("Seed: 3141592653", f"Seed: {seed}")
    fooocus = {**samples.FOOOCUS, "seed": str(seed)}
    graph = json.loads(json.dumps(samples.COMFY_PROMPT))
    graph["3"]["inputs"]["seed"] = 2**64 - 1
    found = [
        read_parameters(samples.png(tmp_path / "a.png", {"parameters": a1111})),
        read_parameters(
            samples.png(tmp_path / "f.png", {"parameters": json.dumps(fooocus), "fooocus_scheme": "fooocus"})
        ),
        read_parameters(samples.a1111_jpeg(tmp_path / "a.jpg", a1111)),
        read_parameters(samples.comfy_png(tmp_path / "c.png", graph)),
    ]
    assert [p.seed if p else None for p in found] == [seed, seed, seed, 2**64 - 1]
    assert all(p is not None and p.to_request().seed == p.seed for p in found)


def test_comfyui_sampler_names_map_to_the_same_variant() -> None:
    from desktop_sd.library.parsed import scheduler_for

    assert scheduler_for("dpmpp_sde", "normal") == "dpmpp_sde"  # not the Karras variant
    assert scheduler_for("dpmpp_sde", "karras") == "dpmpp_sde_karras"
    assert scheduler_for("dpmpp_2m_sde_gpu", "karras") == "dpmpp_2m_sde_karras"
    assert scheduler_for("sample_dpmpp_2m", "") == "dpmpp_2m"


def test_a_compressed_text_chunk_past_pillows_1_mb_limit_is_read(tmp_path: Path) -> None:
    workflow = json.dumps({"nodes": [{"id": i, "widgets_values": ["x" * 200]} for i in range(8000)]})
    assert len(workflow) > 1_500_000
    graph = json.dumps(samples.COMFY_PROMPT)
    path = tmp_path / "big.png"
    data = samples.png_with_chunk_before_pixels(path, b"iTXt", samples.compressed_itxt("workflow", workflow))
    raw = data.read_bytes()
    path.write_bytes(raw[:33] + samples._chunk(b"tEXt", b"prompt\0" + graph.encode("latin-1")) + raw[33:])
    parsed = read_parameters(path)
    assert parsed is not None and parsed.source == "ComfyUI" and parsed.seed == 156680208700286
    with Image.open(path) as image:  # Pillow too, so thumbnails and the canvas open it
        assert len(image.text["workflow"]) == len(workflow)
        assert read_parameters(image) is not None


def test_utf8_in_a_text_chunk_is_read_as_utf8_latin1_as_the_fallback(tmp_path: Path) -> None:
    text = "café in Zürich\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512"
    utf8 = samples.png_with_chunk_before_pixels(tmp_path / "u.png", b"tEXt", b"parameters\0" + text.encode("utf-8"))
    latin = samples.png_with_chunk_before_pixels(
        tmp_path / "l.png", b"tEXt", b"parameters\0" + text.encode("latin-1")
    )
    for path in (utf8, latin):
        parsed = read_parameters(path)
        assert parsed is not None and parsed.prompt == "café in Zürich", path.name
        with Image.open(path) as image:
            from_pillow = read_parameters(image)
        assert from_pillow is not None and from_pillow.prompt == "café in Zürich", path.name


def test_comfyui_flux_graph(tmp_path: Path) -> None:
    parsed = read_parameters(samples.comfy_png(tmp_path / "flux.png", samples.COMFY_FLUX))
    assert parsed is not None and parsed.source == "ComfyUI"
    assert (parsed.prompt, parsed.negative_prompt, parsed.model) == ("a red fox", "", "flux1-dev.safetensors")
    assert (parsed.width, parsed.height, parsed.steps, parsed.seed) == (1024, 768, 24, 2**64 - 2)
    assert parsed.scheduler == "euler" and parsed.sampler == "euler simple" and parsed.extra["Guidance"] == "3.5"
    assert parsed.mode is Mode.TXT2IMG


def test_comfyui_sd_turbo_graph(tmp_path: Path) -> None:
    parsed = read_parameters(samples.comfy_png(tmp_path / "turbo.png", samples.COMFY_TURBO))
    assert parsed is not None
    assert (parsed.prompt, parsed.model, parsed.steps, parsed.cfg_scale, parsed.seed) == (
        "a cinematic owl",
        "sd_turbo.safetensors",
        1,
        1.0,
        77,
    )
    assert parsed.scheduler == "euler_a" and (parsed.width, parsed.height) == (512, 512)


@pytest.mark.parametrize("fmt", ["WEBP", "JPEG"])
def test_comfyui_graph_in_webp_and_jpeg_exif(tmp_path: Path, fmt: str) -> None:
    path = samples.comfy_exif_image(tmp_path / f"c.{fmt.lower()}", fmt, samples.COMFY_PROMPT, {"nodes": []})
    parsed = read_parameters(path)
    assert parsed is not None and parsed.source == "ComfyUI"
    assert (parsed.prompt, parsed.seed) == ("beautiful scenery, glass bottle", 156680208700286)
    assert parsed.scheduler == "dpmpp_2m_karras"


def test_invokeai_2_images_list_and_empty_fields_fall_back_to_dream(tmp_path: Path) -> None:
    listed = {k: v for k, v in samples.SD_METADATA.items() if k not in ("image", "model_weights")}
    listed["images"] = [samples.SD_METADATA["image"]]
    parsed = read_parameters(samples.png(tmp_path / "l.png", {"sd-metadata": json.dumps(listed)}))
    assert parsed is not None and parsed.prompt == "a red barn" and parsed.seed == 1700
    assert parsed.model == samples.SD_METADATA["model_hash"]  # no weights name: the hash names it

    empty = {"model_weights": "", "model_id": "stable-diffusion-1.4", "image": {"prompt": "", "seed": None}}
    dream = '"a cat wearing a hat [ugly]" -s 50 -S 1234 -W 512 -H 640 -C 7.5 -A k_lms -f 0.4'
    chunks = {"sd-metadata": json.dumps(empty), "Dream": dream}
    parsed = read_parameters(samples.png(tmp_path / "e.png", chunks))
    assert parsed is not None and parsed.source == "InvokeAI"
    assert (parsed.prompt, parsed.negative_prompt) == ("a cat wearing a hat", "ugly")
    assert parsed.model == "stable-diffusion-1.4"
    assert (parsed.steps, parsed.seed, parsed.width, parsed.height, parsed.cfg_scale) == (50, 1234, 512, 640, 7.5)
    assert parsed.scheduler == "lms" and parsed.mode is Mode.IMG2IMG and parsed.strength == 0.4


def test_dream_strength_makes_it_img2img(tmp_path: Path) -> None:
    parsed = read_parameters(samples.png(tmp_path / "d.png", {"Dream": samples.DREAM + " -I in.png -f 0.3"}))
    assert parsed is not None and parsed.mode is Mode.IMG2IMG and parsed.strength == 0.3


@pytest.mark.parametrize(("channel", "compressed"), [("alpha", False), ("alpha", True), ("rgb", False), ("rgb", True)])
def test_a1111_stealth_png_info(tmp_path: Path, channel: str, compressed: bool) -> None:
    text = "a hidden lake, café\nNegative prompt: fog\nSteps: 12, Sampler: Euler a, CFG scale: 5, Seed: 99, Size: 64x48"
    path = samples.stealth_png(tmp_path / "s.png", text, channel, compressed)
    with Image.open(path) as image:
        assert "parameters" not in image.info  # a plain reader finds nothing
        from_image = read_parameters(image)
    parsed = read_parameters(path)
    for found in (parsed, from_image):
        assert found is not None and found.source == "AUTOMATIC1111"
        assert (found.prompt, found.negative_prompt) == ("a hidden lake, café", "fog")
        assert (found.seed, found.scheduler) == (99, "euler_a")


def test_an_image_without_stealth_info_has_none(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    Image.new("RGBA", (64, 64), (1, 2, 3, 255)).save(path)
    assert read_parameters(path) is None
