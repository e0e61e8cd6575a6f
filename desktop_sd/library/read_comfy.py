"""Reading ComfyUI's ``prompt`` (API graph) and ``workflow`` (editor graph) JSON.

Graphs vary without limit (custom nodes, several samplers, prompts built by
concatenation), so everything here is best effort: read what can be read by
following links from a sampler, and never raise. Besides ``KSampler`` the
custom samplers are followed through their parts: ``SamplerCustom`` and
``SamplerCustomAdvanced`` take the sampler from ``KSamplerSelect``, steps and
schedule from ``BasicScheduler`` or ``SDTurboScheduler``, the seed from
``RandomNoise`` and (Flux) the prompt and guidance through a guider node.
"""

from __future__ import annotations

import json
from typing import Any

from desktop_sd.core.request import Mode
from desktop_sd.library.parsed import COMFYUI, ParsedParameters, scheduler_for, to_float, to_int

Graph = dict[str, dict[str, Any]]

_SAMPLER_INPUTS = ("positive", "negative")
_TEXT_INPUTS = (
    "text",
    "text_g",
    "text_l",
    "t5xxl",  # CLIPTextEncodeFlux: the T5 prompt, then the CLIP-L one (often the same)
    "clip_l",
    "string",
    "value",
    "prompt",
    "text_positive",
    "text_negative",
)
_MAX_DEPTH = 12  # links followed from a sampler before giving up (graphs may hold cycles)


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str | int) and isinstance(value[1], int)


def _node(graph: Graph, link: Any) -> dict[str, Any] | None:
    if not _is_link(link):
        return None
    node = graph.get(str(link[0]))
    return node if isinstance(node, dict) else None


def _inputs(node: dict[str, Any]) -> dict[str, Any]:
    inputs = node.get("inputs")
    return inputs if isinstance(inputs, dict) else {}


def _resolve_value(graph: Graph, value: Any, depth: int = 0) -> Any:
    """A literal value, following links to primitive/seed/string nodes."""
    if not _is_link(value) or depth > _MAX_DEPTH:
        return value
    node = _node(graph, value)
    if node is None:
        return None
    inputs = _inputs(node)
    for key in ("value", "seed", "noise_seed", "int", "float", "number", "string", "text"):
        if key in inputs:
            return _resolve_value(graph, inputs[key], depth + 1)
    return None


def _texts(graph: Graph, link: Any, depth: int = 0, seen: set[str] | None = None) -> list[str]:
    """Every prompt text reachable from a conditioning link (combine/concat nodes give several)."""
    seen = set() if seen is None else seen
    node = _node(graph, link)
    if node is None or depth > _MAX_DEPTH or str(link[0]) in seen:
        return []
    seen.add(str(link[0]))
    inputs = _inputs(node)
    texts: list[str] = []
    for key in _TEXT_INPUTS:
        if key in inputs:
            value = _resolve_value(graph, inputs[key])
            if _is_link(inputs[key]) and value is None:
                texts += _texts(graph, inputs[key], depth + 1, seen)
            elif isinstance(value, str) and value.strip() and value not in texts:
                texts.append(value)
    if texts:
        return texts
    # Custom text nodes (concatenation and the like) hold their parts under other names.
    literals = [
        v for k, v in inputs.items() if isinstance(v, str) and v.strip() and any(w in k for w in ("text", "string"))
    ]
    if literals:
        return [" ".join(literals)]
    for key, value in inputs.items():
        if _is_link(value) and key not in ("clip", "model", "vae", "image", "mask", "control_net"):
            texts += [t for t in _texts(graph, value, depth + 1, seen) if t not in texts]
    return texts


def _model_name(graph: Graph, link: Any, depth: int = 0) -> str:
    node = _node(graph, link)
    if node is None or depth > _MAX_DEPTH:
        return ""
    inputs = _inputs(node)
    for key in ("ckpt_name", "unet_name", "model_name", "base_ckpt_name"):
        value = inputs.get(key)
        if isinstance(value, str):
            return value
    return _model_name(graph, inputs.get("model"), depth + 1)


def _latent_size(graph: Graph, link: Any, depth: int = 0) -> tuple[int | None, int | None, bool]:
    """Width, height, and whether the latent came from an encoded image (img2img)."""
    node = _node(graph, link)
    if node is None or depth > _MAX_DEPTH:
        return None, None, False
    inputs = _inputs(node)
    kind = str(node.get("class_type", ""))
    if "width" in inputs and "height" in inputs:
        width = to_int(_resolve_value(graph, inputs["width"]))
        height = to_int(_resolve_value(graph, inputs["height"]))
        return width, height, "Encode" in kind
    if "VAEEncode" in kind:
        return None, None, True
    for key in ("samples", "latent", "latent_image", "samples_from"):
        if key in inputs:
            return _latent_size(graph, inputs[key], depth + 1)
    return None, None, False


def _linked(graph: Graph, link: Any, key: str) -> Any:
    """Input ``key`` of the node ``link`` points to, itself resolved to a literal."""
    node = _node(graph, link)
    return None if node is None else _resolve_value(graph, _inputs(node).get(key))


def _samplers(graph: Graph) -> list[dict[str, Any]]:
    found = []
    for node in graph.values():
        if not isinstance(node, dict):
            continue
        inputs = _inputs(node)
        seeded = any(k in inputs for k in ("seed", "noise_seed", "steps"))
        classic = seeded and any(k in inputs for k in _SAMPLER_INPUTS)
        if classic or ("guider" in inputs and "noise" in inputs):  # the second: SamplerCustomAdvanced
            found.append(node)
    # The first pass of a multi-pass graph usually starts from nothing: prefer full denoise, then most steps.
    found.sort(key=lambda n: (-(to_float(_inputs(n).get("denoise")) or 1.0), -(to_int(_inputs(n).get("steps")) or 0)))
    return found


def parse_comfy_prompt(text: str) -> ParsedParameters | None:
    """Parse the ``prompt`` chunk; None only when it is not a JSON graph at all."""
    try:
        graph = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(graph, dict):
        return None
    try:
        return _from_graph(graph, text)
    except Exception:  # a graph shape we did not foresee: the image still imports
        return ParsedParameters(source=COMFYUI, raw=text)


def _from_graph(graph: Graph, raw: str) -> ParsedParameters:
    samplers = _samplers(graph)
    if not samplers:
        return ParsedParameters(source=COMFYUI, raw=raw)
    inputs = _inputs(samplers[0])
    guider = _node(graph, inputs.get("guider"))
    # A guider holds what KSampler holds itself: CFGGuider model/positive/negative/cfg, BasicGuider
    # model/conditioning (Flux, whose guidance is a FluxGuidance node or CLIPTextEncodeFlux input).
    parts = {**_inputs(guider), **inputs} if guider is not None else inputs
    positive = _texts(graph, parts.get("positive", parts.get("conditioning")))
    negative = _texts(graph, parts.get("negative"))
    width, height, encoded = _latent_size(graph, inputs.get("latent_image"))
    sigmas = inputs.get("sigmas")  # BasicScheduler / SDTurboScheduler: steps, schedule, denoise
    denoise = to_float(_resolve_value(graph, inputs.get("denoise", _linked(graph, sigmas, "denoise"))))
    sampler = _resolve_value(graph, inputs.get("sampler_name"))
    if sampler is None:
        sampler = _linked(graph, inputs.get("sampler"), "sampler_name")  # KSamplerSelect
    schedule = _resolve_value(graph, inputs.get("scheduler"))
    if schedule is None:
        schedule = _linked(graph, sigmas, "scheduler")
    sampler = sampler if isinstance(sampler, str) else ""
    schedule = schedule if isinstance(schedule, str) else ""
    steps = _resolve_value(graph, inputs.get("steps"))
    if steps is None:
        steps = _linked(graph, sigmas, "steps")
    seed = _resolve_value(graph, inputs.get("seed", inputs.get("noise_seed", inputs.get("noise"))))
    scheduler_node = _node(graph, sigmas) or {}
    model = _model_name(graph, parts.get("model")) or _model_name(graph, _inputs(scheduler_node).get("model"))
    img2img = encoded or (denoise is not None and denoise < 1.0)
    extra = {"samplers": str(len(samplers))}
    guidance = _flux_guidance(graph, parts.get("conditioning"))
    if guidance is not None:
        extra["Guidance"] = str(guidance)
    return ParsedParameters(
        source=COMFYUI,
        prompt="\n".join(positive),
        negative_prompt="\n".join(negative),
        model=model,
        width=width,
        height=height,
        steps=to_int(steps),
        cfg_scale=to_float(_resolve_value(graph, parts.get("cfg"))),
        seed=to_int(seed),
        sampler=f"{sampler} {schedule}".strip(),
        scheduler=scheduler_for(sampler, schedule),
        strength=denoise if img2img else None,
        mode=Mode.IMG2IMG if img2img else Mode.TXT2IMG,
        extra=extra,
        raw=raw,
    )


def _flux_guidance(graph: Graph, link: Any, depth: int = 0) -> float | None:
    """Flux's distilled guidance, on the way from a guider to the prompt (FluxGuidance, CLIPTextEncodeFlux)."""
    node = _node(graph, link)
    if node is None or depth > _MAX_DEPTH:
        return None
    inputs = _inputs(node)
    if "guidance" in inputs:
        return to_float(_resolve_value(graph, inputs["guidance"]))
    return _flux_guidance(graph, inputs.get("conditioning"), depth + 1)


def parse_comfy_workflow(text: str) -> ParsedParameters | None:
    """The editor graph alone (no ``prompt`` chunk): prompts and sampler settings from widget values."""
    try:
        workflow = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(workflow, dict) or not isinstance(workflow.get("nodes"), list):
        return None
    try:
        return _from_workflow(workflow, text)
    except Exception:  # unforeseen shape: import as a plain ComfyUI image
        return ParsedParameters(source=COMFYUI, raw=text)


def _from_workflow(workflow: dict[str, Any], raw: str) -> ParsedParameters:
    nodes = [n for n in workflow["nodes"] if isinstance(n, dict)]
    texts = [n for n in nodes if str(n.get("type", "")).startswith("CLIPTextEncode")]
    prompts = [str(n["widgets_values"][0]) for n in texts if n.get("widgets_values")]
    sampler = next((n for n in nodes if str(n.get("type", "")) == "KSampler"), None)
    values: list[Any] = list(sampler.get("widgets_values") or []) if sampler else []
    # KSampler widgets: seed, "control after generate", steps, cfg, sampler, scheduler, denoise.
    values += [None] * (7 - len(values))
    name = values[4] if isinstance(values[4], str) else ""
    schedule = values[5] if isinstance(values[5], str) else ""
    latent = next((n for n in nodes if str(n.get("type", "")) == "EmptyLatentImage"), None)
    size = list(latent.get("widgets_values") or []) if latent else []
    size += [None] * (2 - len(size))
    return ParsedParameters(
        source=COMFYUI,
        prompt=prompts[0] if prompts else "",
        negative_prompt=prompts[1] if len(prompts) > 1 else "",
        width=to_int(size[0]),
        height=to_int(size[1]),
        steps=to_int(values[2]),
        cfg_scale=to_float(values[3]),
        seed=to_int(values[0]),
        sampler=f"{name} {schedule}".strip(),
        scheduler=scheduler_for(name, schedule),
        raw=raw,
    )
