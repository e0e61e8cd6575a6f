"""ComfyUI's message and graph shapes: socket events, preview frames, node errors, sampler names."""

from __future__ import annotations

import io
import json
import struct

from PIL import Image

from desktop_sd.core.inputs import prepare_call
from desktop_sd.core.request import GenerationRequest, Mode
from desktop_sd.core.schedulers import SCHEDULER_IDS
from desktop_sd.remote.client import prompt_error_message
from desktop_sd.remote.events import Failed, Finished, Interrupted, Progress, QueueStatus, parse_binary, parse_text
from desktop_sd.remote.workflow import SAMPLERS, build_graph

# ComfyUI's KSampler.SAMPLERS / SCHEDULERS names (comfy/samplers.py) that the table may use.
COMFY_SAMPLERS = {
    "euler",
    "euler_ancestral",
    "heun",
    "dpm_2",
    "dpm_2_ancestral",
    "lms",
    "dpmpp_2m",
    "dpmpp_sde",
    "dpmpp_2m_sde",
    "ipndm",
    "ddim",
    "uni_pc",
    "lcm",
}
COMFY_SCHEDULERS = {"normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform"}


def test_every_scheduler_id_has_comfy_names() -> None:
    assert set(SAMPLERS) == set(SCHEDULER_IDS)
    assert {s.sampler for s in SAMPLERS.values()} <= COMFY_SAMPLERS
    assert {s.scheduler for s in SAMPLERS.values()} <= COMFY_SCHEDULERS
    assert SAMPLERS["dpmpp_2m_karras"] == ("dpmpp_2m", "karras")


def test_text_messages_become_events() -> None:
    def message(kind: str, **data: object) -> str:
        return json.dumps({"type": kind, "data": data})

    assert parse_text(message("progress", value=3, max=20, prompt_id="p", node="8")) == Progress("p", 3, 20)
    assert parse_text(message("executing", node=None, prompt_id="p")) == Finished("p")
    assert parse_text(message("executing", node="8", prompt_id="p")) is None
    assert parse_text(message("execution_success", prompt_id="p")) == Finished("p")
    assert parse_text(message("execution_interrupted", prompt_id="p", node_id="8")) == Interrupted("p")
    failed = parse_text(
        message("execution_error", prompt_id="p", node_id="8", node_type="KSampler", exception_message="boom")
    )
    assert failed == Failed("p", "KSampler (node 8) failed: boom")
    assert parse_text(message("status", status={"exec_info": {"queue_remaining": 2}}, sid="c")) == QueueStatus(2)
    assert parse_text("{not json") is None
    assert parse_text(json.dumps({"type": "progress", "data": "odd"})) is None


def test_binary_preview_frames() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 8), (200, 10, 10)).save(buffer, "JPEG")
    preview = parse_binary(struct.pack(">II", 1, 1) + buffer.getvalue())
    assert preview is not None and preview.image.size == (16, 8)
    assert parse_binary(struct.pack(">II", 3, 1) + b"text") is None  # another binary event
    assert parse_binary(struct.pack(">II", 1, 2) + b"not an image") is None
    assert parse_binary(b"\x00\x01") is None


def test_node_errors_name_each_node() -> None:
    body = json.dumps(
        {
            "error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"},
            "node_errors": {
                "1": {
                    "errors": [{"type": "value_not_in_list", "message": "Value not in list", "details": "ckpt_name"}],
                    "dependent_outputs": ["10"],
                    "class_type": "CheckpointLoaderSimple",
                }
            },
        }
    )
    assert prompt_error_message("box", body) == (
        "box refused the job: CheckpointLoaderSimple (node 1): Value not in list: ckpt_name."
    )
    no_outputs = json.dumps(
        {"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs"}, "node_errors": []}
    )
    assert prompt_error_message("box", no_outputs) == "box refused the job: Prompt has no outputs."
    assert prompt_error_message("box", "<html>") == "box refused the job."


def test_a_txt2img_graph_links_standard_nodes() -> None:
    request = GenerationRequest(
        Mode.TXT2IMG, "a fox", "blurry", width=512, height=768, steps=25, cfg_scale=6.5, scheduler="euler_a"
    )
    graph = build_graph(prepare_call(request), request, "sd15.safetensors", 42, None)
    assert graph["1"]["inputs"] == {"ckpt_name": "sd15.safetensors"}
    assert graph["3"]["inputs"]["text"] == "blurry"
    assert graph["4"]["inputs"] == {"width": 512, "height": 768, "batch_size": 1}
    sampler = graph["8"]["inputs"]
    assert (sampler["seed"], sampler["steps"], sampler["cfg"], sampler["denoise"]) == (42, 25, 6.5, 1.0)
    assert (sampler["sampler_name"], sampler["scheduler"]) == ("euler_ancestral", "normal")
    assert sampler["latent_image"] == ["4", 0] and graph["10"]["inputs"]["images"] == ["9", 0]
