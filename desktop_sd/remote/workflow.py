"""API-format ComfyUI graphs for our requests, built from standard nodes only.

One graph makes one image: a batch is submitted as one graph per image with
seeds ``seed, seed + 1, ...``, so each image's seed is its own (ComfyUI's
batch noise would tie every image to the first seed), and each image's
metadata can hold the exact graph that made it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from desktop_sd.core.inputs import PipelineCall, PipelineKind
from desktop_sd.core.request import GenerationRequest

Graph = dict[str, dict[str, Any]]


class ComfySampler(NamedTuple):
    sampler: str  # KSampler "sampler_name"
    scheduler: str  # KSampler "scheduler"


# Our scheduler ids (core.schedulers) as ComfyUI's KSampler.SAMPLERS and KSampler.SCHEDULERS names.
SAMPLERS: dict[str, ComfySampler] = {
    "default": ComfySampler("euler", "normal"),
    "pndm": ComfySampler("ipndm", "normal"),  # ComfyUI has no PLMS; iPNDM is the same multistep method, improved
    "ddim": ComfySampler("ddim", "ddim_uniform"),
    "lms": ComfySampler("lms", "normal"),
    "euler": ComfySampler("euler", "normal"),
    "euler_a": ComfySampler("euler_ancestral", "normal"),
    "heun": ComfySampler("heun", "normal"),
    "dpm2": ComfySampler("dpm_2", "normal"),
    "dpm2_a": ComfySampler("dpm_2_ancestral", "normal"),
    "dpmpp_2m": ComfySampler("dpmpp_2m", "normal"),
    "dpmpp_2m_karras": ComfySampler("dpmpp_2m", "karras"),
    "dpmpp_sde": ComfySampler("dpmpp_sde", "normal"),
    "dpmpp_sde_karras": ComfySampler("dpmpp_sde", "karras"),
    "dpmpp_2m_sde": ComfySampler("dpmpp_2m_sde", "normal"),
    "dpmpp_2m_sde_karras": ComfySampler("dpmpp_2m_sde", "karras"),
    "unipc": ComfySampler("uni_pc", "normal"),
    "lcm": ComfySampler("lcm", "sgm_uniform"),
}

OUTPUT_NODE = "10"  # the PreviewImage node whose images are the result


class AddOns(NamedTuple):
    """The server's names for the LoRAs (with weights) and the VAE a request uses; none by default."""

    loras: Sequence[tuple[str, float]] = ()
    vae: str | None = None


class Uploaded(NamedTuple):
    """Names the server gave our uploads (``LoadImage`` inputs)."""

    image: str  # the init image
    masked: str | None = None  # the init image with the mask as its alpha (``/upload/mask``), for inpainting


def build_graph(
    call: PipelineCall,
    request: GenerationRequest,
    checkpoint: str,
    seed: int,
    uploaded: Uploaded | None,
    add_ons: AddOns = AddOns(),
    prompts: tuple[str, str] | None = None,
) -> Graph:
    """The graph for one image of ``request`` (already checked and prepared as ``call``).

    txt2img starts from an empty latent; img2img encodes the uploaded image;
    inpaint (and outpaint, prepared as an inpaint of the enlarged canvas) loads
    the image whose alpha holds the mask, and ``SetLatentNoiseMask`` keeps the
    sampler to the masked area at any strength. The result is composited
    locally afterwards, as the local engine does.

    LoRAs are a chain of ``LoraLoader`` nodes between the checkpoint and the
    sampler and text encoders (one weight for both, as A1111's tags give);
    a VAE of its own is a ``VAELoader``. ``prompts``: the prompt and negative
    prompt to encode (the request's, without their ``<lora:>`` tags).
    """
    sampler = SAMPLERS[request.scheduler]
    width, height = call.size
    prompt, negative = prompts if prompts is not None else (request.prompt, request.negative_prompt)
    graph: Graph = {"1": _node("CheckpointLoaderSimple", ckpt_name=checkpoint)}
    model: list[Any] = ["1", 0]
    clip: list[Any] = ["1", 1]
    vae: list[Any] = ["1", 2]
    for index, (name, weight) in enumerate(add_ons.loras):
        node = f"lora{index + 1}"
        graph[node] = _node(
            "LoraLoader", model=model, clip=clip, lora_name=name, strength_model=weight, strength_clip=weight
        )
        model, clip = [node, 0], [node, 1]
    if add_ons.vae is not None:
        graph["vae"] = _node("VAELoader", vae_name=add_ons.vae)
        vae = ["vae", 0]
    graph["2"] = _node("CLIPTextEncode", text=prompt, clip=clip)
    graph["3"] = _node("CLIPTextEncode", text=negative, clip=clip)
    denoise = 1.0
    if call.kind is PipelineKind.TXT2IMG:
        graph["4"] = _node("EmptyLatentImage", width=width, height=height, batch_size=1)
        latent = ["4", 0]
    else:
        if uploaded is None:
            raise ValueError("img2img and inpaint graphs need the uploaded image")
        denoise = float(call.strength if call.strength is not None else request.strength)
        if call.kind is PipelineKind.INPAINT:
            if uploaded.masked is None:
                raise ValueError("an inpaint graph needs the uploaded mask")
            graph["5"] = _node("LoadImage", image=uploaded.masked)
            graph["6"] = _node("VAEEncode", pixels=["5", 0], vae=vae)
            graph["7"] = _node("SetLatentNoiseMask", samples=["6", 0], mask=["5", 1])
            latent = ["7", 0]
        else:
            graph["5"] = _node("LoadImage", image=uploaded.image)
            graph["6"] = _node("VAEEncode", pixels=["5", 0], vae=vae)
            latent = ["6", 0]
    graph["8"] = _node(
        "KSampler",
        model=model,
        seed=seed,
        steps=request.steps,
        cfg=request.cfg_scale,
        sampler_name=sampler.sampler,
        scheduler=sampler.scheduler,
        positive=["2", 0],
        negative=["3", 0],
        latent_image=latent,
        denoise=denoise,
    )
    graph["9"] = _node("VAEDecode", samples=["8", 0], vae=vae)
    graph[OUTPUT_NODE] = _node("PreviewImage", images=["9", 0])
    return graph


def _node(class_type: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs}
