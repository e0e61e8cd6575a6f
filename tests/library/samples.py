"""Sample images in the metadata formats other tools write, built here (no files from the network)."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from pathlib import Path
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from desktop_sd.library.metadata import encode_user_comment

A1111_TEXT = (
    "masterpiece, a lighthouse at dusk, (dramatic sky:1.2)\n"
    "Negative prompt: lowres, bad anatomy\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3141592653, Size: 512x768, "
    'Model hash: c0d1994c73, Model: dreamshaper_8, Lora hashes: "add_detail: 7c6bad76eb54, more: 1", '
    "Version: v1.10.1"
)

COMFY_PROMPT: dict[str, Any] = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 156680208700286,
            "steps": 20,
            "cfg": 8.0,
            "sampler_name": "dpmpp_2m",
            "scheduler": "karras",
            "denoise": 1.0,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "beautiful scenery, glass bottle", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
}

# Two passes (the second refines at denoise 0.45), a LoRA in the model chain, a seed from a primitive
# node, a positive prompt combined from two encoders (one fed by a custom concatenation node), a cycle.
COMFY_COMPLEX: dict[str, Any] = {
    "10": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl/juggernaut.safetensors"}},
    "11": {"class_type": "LoraLoader", "inputs": {"model": ["10", 0], "clip": ["10", 1], "lora_name": "x.safetensors"}},
    "12": {"class_type": "PrimitiveNode", "inputs": {"value": 42}},
    "13": {"class_type": "StringConcat", "inputs": {"text_a": "a knight,", "text_b": "golden armor"}},
    "14": {"class_type": "CLIPTextEncode", "inputs": {"text": ["13", 0], "clip": ["11", 1]}},
    "15": {"class_type": "CLIPTextEncode", "inputs": {"text": "castle background", "clip": ["11", 1]}},
    "16": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["14", 0], "conditioning_2": ["15", 0]}},
    "17": {"class_type": "CLIPTextEncode", "inputs": {"text": "ugly", "clip": ["11", 1]}},
    "18": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
    "19": {
        "class_type": "KSamplerAdvanced",
        "inputs": {
            "noise_seed": ["12", 0],
            "steps": 30,
            "cfg": 5.5,
            "sampler_name": "euler_ancestral",
            "scheduler": "normal",
            "model": ["11", 0],
            "positive": ["16", 0],
            "negative": ["17", 0],
            "latent_image": ["18", 0],
        },
    },
    "20": {"class_type": "LatentUpscale", "inputs": {"samples": ["19", 0], "width": 1536, "height": 1536}},
    "21": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 7,
            "steps": 12,
            "cfg": 5.5,
            "sampler_name": "dpmpp_2m",
            "scheduler": "karras",
            "denoise": 0.45,
            "model": ["11", 0],
            "positive": ["16", 0],
            "negative": ["17", 0],
            "latent_image": ["20", 0],
        },
    },
    "22": {"class_type": "Loop", "inputs": {"a": ["23", 0]}},
    "23": {"class_type": "Loop", "inputs": {"a": ["22", 0]}},
}

COMFY_WORKFLOW: dict[str, Any] = {
    "nodes": [
        {"id": 6, "type": "CLIPTextEncode", "widgets_values": ["a watercolor fox"]},
        {"id": 7, "type": "CLIPTextEncode", "widgets_values": ["photo"]},
        {"id": 3, "type": "KSampler", "widgets_values": [99, "randomize", 25, 6, "euler", "normal", 1]},
        {"id": 5, "type": "EmptyLatentImage", "widgets_values": [640, 448, 1]},
    ],
    "links": [],
}

INVOKE_METADATA: dict[str, Any] = {
    "generation_mode": "sdxl_txt2img",
    "positive_prompt": "a cozy cabin in the woods",
    "negative_prompt": "people",
    "width": 1024,
    "height": 832,
    "seed": 2024,
    "steps": 30,
    "cfg_scale": 6.0,
    "scheduler": "dpmpp_2m_k",
    "model": {"name": "Juggernaut XL", "base": "sdxl", "hash": "blake3:abc", "key": "k1"},
    "loras": [],
    "app_version": "4.2.7",
}

SD_METADATA: dict[str, Any] = {
    "model": "stable diffusion",
    "model_weights": "stable-diffusion-1.5",
    "model_hash": "cc6cb27103417325ff94f52b7a5d2dde45a7515b25c255d8e396c90014281516",
    "app_id": "invoke-ai/InvokeAI",
    "app_version": "2.3.5",
    "image": {
        "prompt": [{"prompt": "a red barn [blurry, lowres]", "weight": 1.0}],
        "steps": 50,
        "cfg_scale": 7.5,
        "height": 512,
        "width": 512,
        "seed": 1700,
        "type": "img2img",
        "sampler": "k_euler_a",
        "strength": 0.6,
    },
}

DREAM = '"a cat wearing a hat [ugly]" -s 50 -S 1234 -W 512 -H 640 -C 7.5 -A k_lms'

FOOOCUS: dict[str, Any] = {
    "prompt": "a dragon over mountains",
    "negative_prompt": "",
    "prompt_expansion": "a dragon over mountains, epic",
    "styles": "['Fooocus V2', 'Fooocus Enhance']",
    "performance": "Speed",
    "resolution": "(1152, 896)",
    "guidance_scale": 4,
    "sharpness": 2,
    "base_model": "juggernautXL_v8Rundiffusion.safetensors",
    "refiner_model": "None",
    "sampler": "dpmpp_2m_sde_gpu",
    "scheduler": "karras",
    "seed": "8675309",
    "steps": 30,
    "full_prompt": ["a dragon over mountains, epic"],
    "full_negative_prompt": ["(worst quality)"],
    "version": "Fooocus v2.5.0",
}

NOVELAI_COMMENT: dict[str, Any] = {
    "steps": 28,
    "sampler": "k_euler_ancestral",
    "seed": 555,
    "strength": 0.7,
    "noise": 0.2,
    "scale": 11.0,
    "uc": "lowres, bad hands",
}


def png(path: Path, chunks: dict[str, str], after_image: dict[str, str] | None = None) -> Path:
    """A small PNG with text chunks (``after_image``: written after the pixel data, as some tools do)."""
    info = PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (48, 32), (10, 120, 200)).save(buffer, "PNG", pnginfo=info)
    data = buffer.getvalue()
    if after_image:
        iend = data.rindex(b"IEND") - 4
        extra = b"".join(
            _chunk(b"tEXt", k.encode("latin-1") + b"\0" + v.encode("latin-1")) for k, v in after_image.items()
        )
        data = data[:iend] + extra + data[iend:]
    path.write_bytes(data)
    return path


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return len(payload).to_bytes(4, "big") + kind + payload + crc.to_bytes(4, "big")


def png_with_raw_chunk(path: Path, kind: bytes, payload: bytes) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, "PNG")
    data = buffer.getvalue()
    iend = data.rindex(b"IEND") - 4
    path.write_bytes(data[:iend] + _chunk(kind, payload) + data[iend:])
    return path


def png_with_chunk_before_pixels(path: Path, kind: bytes, payload: bytes) -> Path:
    """A PNG with one raw chunk right after the header, where most tools put their text."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(buffer, "PNG")
    data = buffer.getvalue()
    after_header = 8 + 25  # signature, then IHDR (length, type, 13 bytes, CRC)
    path.write_bytes(data[:after_header] + _chunk(kind, payload) + data[after_header:])
    return path


def compressed_itxt(keyword: str, text: str) -> bytes:
    """An ``iTXt`` payload, compressed: keyword, flag 1, method 0, no language, no translation."""
    return keyword.encode("latin-1") + b"\0\1\0\0\0" + zlib.compress(text.encode("utf-8"))


def exif_image(path: Path, fmt: str, comment: bytes) -> Path:
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = comment
    Image.new("RGB", (40, 30), (90, 90, 30)).save(path, fmt, exif=exif)
    return path


def a1111_jpeg(path: Path, text: str = A1111_TEXT, little_endian: bool = False) -> Path:
    comment = b"UNICODE\0" + text.encode("utf-16-le") if little_endian else encode_user_comment(text)
    return exif_image(path, "JPEG", comment)


# Flux as ComfyUI's own template builds it: UNETLoader, CLIPTextEncodeFlux, FluxGuidance, BasicGuider,
# RandomNoise, KSamplerSelect and BasicScheduler feeding SamplerCustomAdvanced.
COMFY_FLUX: dict[str, Any] = {
    "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "fp8_e4m3fn"}},
    "2": {"class_type": "DualCLIPLoader", "inputs": {"clip_name1": "t5xxl_fp16.safetensors", "type": "flux"}},
    "3": {
        "class_type": "CLIPTextEncodeFlux",
        "inputs": {"clip": ["2", 0], "clip_l": "a red fox", "t5xxl": "a red fox", "guidance": 3.5},
    },
    "4": {"class_type": "FluxGuidance", "inputs": {"conditioning": ["3", 0], "guidance": 3.5}},
    "5": {"class_type": "BasicGuider", "inputs": {"model": ["1", 0], "conditioning": ["4", 0]}},
    "6": {"class_type": "RandomNoise", "inputs": {"noise_seed": 2**64 - 2}},
    "7": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
    "8": {
        "class_type": "BasicScheduler",
        "inputs": {"model": ["1", 0], "scheduler": "simple", "steps": 24, "denoise": 1.0},
    },
    "9": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 768, "batch_size": 1}},
    "10": {
        "class_type": "SamplerCustomAdvanced",
        "inputs": {
            "noise": ["6", 0],
            "guider": ["5", 0],
            "sampler": ["7", 0],
            "sigmas": ["8", 0],
            "latent_image": ["9", 0],
        },
    },
    "11": {"class_type": "VAEDecode", "inputs": {"samples": ["10", 0], "vae": ["12", 0]}},
    "12": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
}

# SD-Turbo as ComfyUI's example builds it: SamplerCustom with SDTurboScheduler and KSamplerSelect.
COMFY_TURBO: dict[str, Any] = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_turbo.safetensors"}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a cinematic owl", "clip": ["1", 1]}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["1", 1]}},
    "4": {"class_type": "SDTurboScheduler", "inputs": {"model": ["1", 0], "steps": 1, "denoise": 1.0}},
    "5": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler_ancestral"}},
    "6": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
    "7": {
        "class_type": "SamplerCustom",
        "inputs": {
            "model": ["1", 0],
            "add_noise": True,
            "noise_seed": 77,
            "cfg": 1.0,
            "positive": ["2", 0],
            "negative": ["3", 0],
            "sampler": ["5", 0],
            "sigmas": ["4", 0],
            "latent_image": ["6", 0],
        },
    },
}


def comfy_exif_image(path: Path, fmt: str, graph: dict[str, Any], workflow: Any = None) -> Path:
    """A WebP or JPEG as ComfyUI's savers write one: ``prompt:{...}`` in EXIF Model (0x0110),
    ``workflow:{...}`` in EXIF Make (0x010F)."""
    exif = Image.Exif()
    exif[0x0110] = "prompt:" + json.dumps(graph)
    if workflow is not None:
        exif[0x010F] = "workflow:" + json.dumps(workflow)
    Image.new("RGB", (40, 30), (30, 90, 30)).save(path, fmt, exif=exif)
    return path


def stealth_png(path: Path, text: str, channel: str = "alpha", compressed: bool = False) -> Path:
    """A PNG with ``text`` hidden as A1111's stealth-pnginfo writes it (see ``library.read_stealth``)."""
    signature = {"alpha": b"stealth_png", "rgb": b"stealth_rgb"}[channel] + (b"comp" if compressed else b"info")
    payload = gzip.compress(text.encode("utf-8")) if compressed else text.encode("utf-8")
    data = signature + (len(payload) * 8).to_bytes(4, "big") + payload
    bits = [(byte >> (7 - i)) & 1 for byte in data for i in range(8)]
    width, height = 64, 48
    mode = "RGBA" if channel == "alpha" else "RGB"
    image = Image.new(mode, (width, height), (120, 80, 200, 255)[: len(mode)])
    pixels = image.load()
    per_pixel = 1 if channel == "alpha" else 3
    assert len(bits) <= width * height * per_pixel, "text too long for the sample image"
    for index, bit in enumerate(bits):
        pixel, band = divmod(index, per_pixel)
        x, y = divmod(pixel, height)  # column by column
        value = list(pixels[x, y])
        band = 3 if channel == "alpha" else band
        value[band] = (value[band] & ~1) | bit
        pixels[x, y] = tuple(value)
    image.save(path, "PNG")
    return path


def comfy_png(path: Path, graph: dict[str, Any] | str = COMFY_PROMPT, workflow: Any = None) -> Path:
    chunks = {"prompt": graph if isinstance(graph, str) else json.dumps(graph)}
    if workflow is not None:
        chunks["workflow"] = workflow if isinstance(workflow, str) else json.dumps(workflow)
    return png(path, chunks)
