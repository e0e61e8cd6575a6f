"""Desktop SD: local, offline Stable Diffusion desktop app.

Importing this package must stay cheap: no torch, no Qt.
"""

__version__ = "0.1.0"
