"""Cutting an image into overlapping tiles and blending processed tiles back without seams.

Used by the upscaler models (each tile through the network, so a 4x of a 2048 px image fits in a
few GB) and by the tiled diffusion refine (each tile through img2img). Where two tiles overlap the
result is a weighted mean whose weights ramp linearly across the overlap, so neither tile's edge
shows; at the image's own border a tile keeps full weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Tile:
    """A tile's box in the image: ``left, top`` and its size (the last row and column are shifted
    back inside the image, so every tile has the full size when the image is at least that big)."""

    left: int
    top: int
    width: int
    height: int

    @property
    def box(self) -> tuple[int, int, int, int]:
        return (self.left, self.top, self.left + self.width, self.top + self.height)


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    """As few tiles as keep every overlap at least ``overlap``, spread evenly (so the overlaps are alike)."""
    if length <= tile:
        return [0]
    count = -(-(length - overlap) // (tile - overlap))
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def tiles(width: int, height: int, tile: int, overlap: int) -> list[Tile]:
    """Tiles of at most ``tile`` pixels a side covering ``width`` x ``height``, neighbours sharing at
    least ``overlap`` pixels, row by row."""
    if tile <= 0 or overlap < 0 or overlap >= tile:
        raise ValueError(f"tile {tile} and overlap {overlap}: the overlap must be smaller than the tile")
    tw, th = min(tile, width), min(tile, height)
    return [Tile(left, top, tw, th) for top in _starts(height, tile, overlap) for left in _starts(width, tile, overlap)]


def _ramp(length: int, overlap: int, ramp_start: bool, ramp_end: bool) -> torch.Tensor:
    weights = torch.ones(length, dtype=torch.float32)
    span = min(overlap, length // 2)
    if span > 0:
        # (i + 0.5) / span: strictly positive, so every pixel keeps some weight from each tile on it.
        rise = (torch.arange(span, dtype=torch.float32) + 0.5) / span
        if ramp_start:
            weights[:span] = rise
        if ramp_end:
            weights[length - span :] = rise.flip(0)
    return weights


def feather(t: Tile, width: int, height: int, overlap: int) -> torch.Tensor:
    """The blend weights of tile ``t`` (height x width), ramping over ``overlap`` on the sides it shares
    with a neighbour and flat along the image's border."""
    across = _ramp(t.width, overlap, t.left > 0, t.left + t.width < width)
    down = _ramp(t.height, overlap, t.top > 0, t.top + t.height < height)
    return down[:, None] * across[None, :]


class Blender:
    """Accumulates processed tiles (C x H x W float tensors, on the CPU) into one image."""

    def __init__(self, channels: int, width: int, height: int, overlap: int) -> None:
        self.width, self.height, self.overlap = width, height, overlap
        self._sum = torch.zeros(channels, height, width, dtype=torch.float32)
        self._weight = torch.zeros(1, height, width, dtype=torch.float32)

    def add(self, t: Tile, pixels: torch.Tensor) -> None:
        """Add tile ``t``'s processed pixels (already at this blender's scale)."""
        weights = feather(t, self.width, self.height, self.overlap)
        region = (slice(None), slice(t.top, t.top + t.height), slice(t.left, t.left + t.width))
        self._sum[region] += pixels.float().cpu() * weights
        self._weight[region] += weights

    def result(self) -> torch.Tensor:
        return self._sum / self._weight.clamp_min(1e-8)


def scaled(t: Tile, scale: int) -> Tile:
    return Tile(t.left * scale, t.top * scale, t.width * scale, t.height * scale)
