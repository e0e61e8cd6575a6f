"""The ComfyUI backend against the stand-in server: every mode, progress, cancel, failures."""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np
import pytest
from PIL import Image

from desktop_sd.core.errors import Cancelled, InputError, ServerError, ServerLost
from desktop_sd.core.request import Borders, GenerationRequest, Mode
from desktop_sd.remote.backend import ComfyBackend
from desktop_sd.remote.client import ComfyClient
from tests.remote.comfy_standin import ComfyStandIn


class Steps:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, Image.Image | None]] = []

    def __call__(self, step: int, total: int, preview: Image.Image | None) -> None:
        self.calls.append((step, total, preview))


def request(mode: Mode = Mode.TXT2IMG, **changes: Any) -> GenerationRequest:
    values: dict[str, Any] = {"prompt": "a lighthouse", "model": "sd15", "width": 64, "height": 64, "steps": 3}
    values.update(changes)
    return GenerationRequest(mode=mode, **values)


def gradient(size: tuple[int, int] = (64, 64)) -> Image.Image:
    w, h = size
    x = np.linspace(0, 255, w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.uint8)[:, None].repeat(w, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=-1), "RGB")


def test_txt2img_batch_gives_one_image_per_seed_with_progress_and_previews(backend: ComfyBackend) -> None:
    steps = Steps()
    result = backend.generate(request(width=96, height=64, seed=300, batch_size=2), steps, threading.Event())

    assert result.seeds == (300, 301)
    assert [image.size for image in result.images] == [(96, 64), (96, 64)]
    assert [image.getpixel((0, 0))[0] for image in result.images] == [300 % 256, 301 % 256]  # each its own seed
    assert [(s, t) for s, t, _ in steps.calls] == [(i, 6) for i in range(1, 7)]
    previews = [p for _, _, p in steps.calls if p is not None]
    assert previews and all(p.size == (64, 64) for p in previews)
    assert result.server == "box" and result.model_id == "sd15.safetensors" and result.device == "comfyui"
    graphs = [json.loads(g) for g in result.graphs]
    assert [g["8"]["inputs"]["seed"] for g in graphs] == [300, 301]
    assert {n["class_type"] for n in graphs[0].values()} == {
        "CheckpointLoaderSimple",
        "CLIPTextEncode",
        "EmptyLatentImage",
        "KSampler",
        "VAEDecode",
        "PreviewImage",
    }


def test_progress_from_servers_that_send_no_prompt_id(backend: ComfyBackend, standin: ComfyStandIn) -> None:
    standin.progress_without_prompt_id = True
    steps = Steps()
    backend.generate(request(batch_size=2, seed=4), steps, threading.Event())
    assert [(s, t) for s, t, _ in steps.calls] == [(i, 6) for i in range(1, 7)]


def test_img2img_uploads_the_image_at_the_model_size(backend: ComfyBackend, standin: ComfyStandIn) -> None:
    result = backend.generate(
        request(Mode.IMG2IMG, init_image=gradient((80, 64)), strength=0.4, seed=1), Steps(), threading.Event()
    )
    (uploaded,) = standin.uploads.values()
    assert uploaded.size == (64, 64)  # scaled locally, as the local engine does, with a notice
    assert any("scaled" in n for n in result.notices)
    graph = json.loads(result.graphs[0])
    assert graph["8"]["inputs"]["denoise"] == 0.4
    assert graph["6"]["class_type"] == "VAEEncode"


def test_inpaint_keeps_every_pixel_outside_the_feathered_mask(backend: ComfyBackend, standin: ComfyStandIn) -> None:
    init = gradient()
    mask = Image.new("L", init.size, 0)
    mask.paste(255, (16, 16, 40, 40))
    result = backend.generate(
        request(Mode.INPAINT, init_image=init, mask=mask, mask_feather=4, seed=9), Steps(), threading.Event()
    )
    out = np.asarray(result.images[0])
    original = np.asarray(init)
    far = np.ones(original.shape[:2], bool)
    far[16 - 4 : 40 + 4, 16 - 4 : 40 + 4] = False
    assert np.array_equal(out[far], original[far])
    assert tuple(out[28, 28]) == (9, 128, 64)  # the server's image inside the mask
    # The mask travelled as the alpha of the uploaded image (/upload/mask): LoadImage's MASK is 1 - alpha.
    masked = next(image for name, image in standin.uploads.items() if name.endswith("-mask.png"))
    assert masked.getchannel("A").getpixel((28, 28)) == 0 and masked.getchannel("A").getpixel((2, 2)) == 255
    assert any(path.startswith("/upload/mask") for _, path, _ in standin.requests)
    assert json.loads(result.graphs[0])["7"]["class_type"] == "SetLatentNoiseMask"


def test_outpaint_extends_the_canvas_and_keeps_the_original(backend: ComfyBackend) -> None:
    init = gradient()
    result = backend.generate(
        request(Mode.OUTPAINT, init_image=init, outpaint=Borders(right=32), width=96, strength=1.0, seed=2),
        Steps(),
        threading.Event(),
    )
    out = np.asarray(result.images[0])
    assert result.images[0].size == (96, 64)
    assert np.array_equal(out[:, :40], np.asarray(init)[:, :40])  # the original, less the overlap and feather
    assert tuple(out[32, 90]) == (2, 128, 64)


def test_bad_input_fails_before_anything_is_sent(backend: ComfyBackend, standin: ComfyStandIn) -> None:
    with pytest.raises(InputError):
        backend.generate(request(Mode.INPAINT, init_image=gradient()), Steps(), threading.Event())
    assert standin.requests == []


def test_an_unknown_checkpoint_is_refused_with_the_servers_list(backend: ComfyBackend) -> None:
    with pytest.raises(ServerError, match=r"box has no checkpoint 'sdxl'.*sd15\.safetensors"):
        backend.generate(request(model="sdxl"), Steps(), threading.Event())


def test_node_errors_are_shown_by_node_name(backend: ComfyBackend, standin: ComfyStandIn) -> None:
    standin.fail_prompt = "node_errors"
    with pytest.raises(ServerError, match=r"KSampler \(node 8\): Value 0 smaller than min of 1: steps"):
        backend.generate(request(), Steps(), threading.Event())


@pytest.mark.parametrize(
    ("failure", "message"), [("http500", r"failed the request /prompt \(HTTP 500\)"), ("malformed", "not valid JSON")]
)
def test_http_500_and_malformed_json_give_a_clear_error(
    backend: ComfyBackend, standin: ComfyStandIn, failure: str, message: str
) -> None:
    standin.fail_prompt = failure
    with pytest.raises(ServerError, match=message) as caught:
        backend.generate(request(), Steps(), threading.Event())
    assert not isinstance(caught.value, ServerLost)


def test_an_execution_error_names_the_node(backend: ComfyBackend, standin: ComfyStandIn) -> None:
    standin.error_at_step = 2
    with pytest.raises(ServerError, match=r"box: KSampler \(node 8\) failed: CUDA out of memory"):
        backend.generate(request(), Steps(), threading.Event())


def test_a_server_killed_mid_job_is_reported_as_lost(backend: ComfyBackend, standin: ComfyStandIn) -> None:
    standin.die_at_step = 2
    with pytest.raises(ServerLost, match="box stopped answering during the job"):
        backend.generate(request(), Steps(), threading.Event())


def test_an_unreachable_server_is_lost_and_its_status_says_so(standin: ComfyStandIn) -> None:
    standin.stop()
    backend = ComfyBackend(ComfyClient("gone", standin.url, timeout_s=2.0))
    with pytest.raises(ServerLost, match=r"gone .* cannot be reached"):
        backend.generate(request(), Steps(), threading.Event())
    assert backend.status().device_name == "gone (unreachable)"


def run_in_thread(backend: ComfyBackend, req: GenerationRequest, cancelled: threading.Event) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = backend.generate(req, Steps(), cancelled)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    outcome["thread"] = thread
    return outcome


def test_cancel_interrupts_the_running_prompt(backend: ComfyBackend, standin: ComfyStandIn) -> None:
    standin.hold.set()
    cancelled = threading.Event()
    outcome = run_in_thread(backend, request(), cancelled)
    assert standin.step_reached.wait(10)
    cancelled.set()
    outcome["thread"].join(10)
    assert isinstance(outcome.get("error"), Cancelled)
    assert standin.interrupts == 1 and standin.deleted == []


def test_cancel_deletes_queued_prompts_and_leaves_other_jobs_alone(
    backend: ComfyBackend, standin: ComfyStandIn
) -> None:
    standin.hold.set()
    other = ComfyBackend(ComfyClient("box", standin.url, timeout_s=5.0))
    first = run_in_thread(other, request(seed=1), threading.Event())  # someone else's job, held running
    assert standin.step_reached.wait(10)
    cancelled = threading.Event()
    mine = run_in_thread(backend, request(seed=2, batch_size=2), cancelled)
    while standin.queue_lengths()[1] < 2:  # both of mine are queued behind it
        mine["thread"].join(0.01)
    cancelled.set()
    mine["thread"].join(10)
    assert isinstance(mine.get("error"), Cancelled)
    assert len(standin.deleted) == 2 and standin.interrupts == 0
    standin.release()
    first["thread"].join(10)
    assert "result" in first


def test_the_token_is_sent_as_a_bearer_header_and_never_shown(standin: ComfyStandIn) -> None:
    standin.required_token = "s3cret-token"
    backend = ComfyBackend(ComfyClient("box", standin.url, token="s3cret-token", timeout_s=5.0))
    backend.generate(request(), Steps(), threading.Event())
    assert all(headers.get("Authorization") == "Bearer s3cret-token" for _, _, headers in standin.requests)
    assert "s3cret" not in repr(backend.client)

    wrong = ComfyBackend(ComfyClient("box", standin.url, token="wrong", timeout_s=5.0))
    with pytest.raises(ServerError, match="check its token") as caught:
        wrong.generate(request(), Steps(), threading.Event())
    assert "wrong" not in str(caught.value)


def test_status_reports_the_servers_device(backend: ComfyBackend) -> None:
    status = backend.status()
    assert status.device == "comfyui" and status.device_name == "box: cpu" and status.free_vram_mb == 4096


def test_a_redirect_is_refused_so_the_token_never_follows_it(standin: ComfyStandIn) -> None:
    standin.redirect_to = "http://127.0.0.2:9/"
    client = ComfyClient("box", standin.url, token="s3cret-token", timeout_s=5.0)
    with pytest.raises(ServerError, match="redirected the request elsewhere") as caught:
        client.version()
    assert "s3cret" not in str(caught.value)


def test_loras_from_tags_and_the_picker_and_a_vae_go_into_the_graph(
    backend: ComfyBackend, standin: ComfyStandIn
) -> None:
    standin.loras = ["styles/paper_cut.safetensors", "detail.safetensors"]
    standin.vaes = ["ft-mse.safetensors"]
    job = request(
        prompt="a fox <lora:detail:0.7>, autumn",
        loras=(("paper_cut", 0.5),),
        vae="ft-mse",
        seed=9,
    )
    result = backend.generate(job, Steps(), threading.Event())

    graph = json.loads(result.graphs[0])
    loaders = {node_id: n["inputs"] for node_id, n in graph.items() if n["class_type"] == "LoraLoader"}
    assert [(i["lora_name"], i["strength_model"], i["strength_clip"]) for i in loaders.values()] == [
        ("styles/paper_cut.safetensors", 0.5, 0.5),
        ("detail.safetensors", 0.7, 0.7),
    ]
    last = list(loaders)[-1]
    assert graph["8"]["inputs"]["model"] == [last, 0]  # the sampler runs the model with both LoRAs
    assert graph["2"]["inputs"] == {"text": "a fox, autumn", "clip": [last, 1]}  # the tag is not prompt text
    vae = [node_id for node_id, n in graph.items() if n["class_type"] == "VAELoader"]
    assert graph["9"]["inputs"]["vae"] == [vae[0], 0]
    assert result.request.prompt == "a fox <lora:detail:0.7>, autumn"  # the history keeps what was typed


def test_a_lora_the_server_lacks_is_named_before_anything_is_queued(
    backend: ComfyBackend, standin: ComfyStandIn
) -> None:
    standin.loras = ["detail.safetensors"]
    with pytest.raises(InputError, match=r"box has no LoRA 'paper_cut'\. Its LoRAs: detail\.safetensors"):
        backend.generate(request(prompt="a fox <lora:paper_cut:1>"), Steps(), threading.Event())
    assert standin.history == {}  # nothing was queued


def test_a_hires_request_is_made_at_its_base_size_and_says_so(backend: ComfyBackend) -> None:
    result = backend.generate(request(hires_scale=2.0, seed=3), Steps(), threading.Event())
    assert result.images[0].size == (64, 64) and result.request.hires_scale == 1.0
    assert any("hires fix runs on this computer only" in notice for notice in result.notices)
