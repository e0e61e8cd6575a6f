"""Generation on ComfyUI servers: the ``core.backend.Backend`` over ComfyUI's HTTP and WebSocket API.

No Qt and no torch: images are prepared and composited with ``core.inputs``
exactly as the local engine does, and only the sampling runs on the server.
"""
