"""Models: what is installed, where it came from, and how to get more. No Qt, no torch.

- ``inspection``: read a ``.safetensors`` header, check it, tell the family from tensor names and shapes (or a
  diffusers folder's from its config), and find the shipped config folder a single file loads with.
- ``resolve``: turn any model name (an id ``models list`` prints, a file, a folder, a cached repo) into a
  ``ModelRef``.
- ``catalog``: the curated download list (``resources/catalog.json``).
- ``registry``: installed models (our downloads and imports, other tools' Hub downloads, other apps' folders).
- ``transfer``: one resumable, verified HTTP download; ``hub``: Hub repos into the standard cache;
  ``install``: catalog/repo/URL downloads recorded in the registry; ``progress``: bytes, speed, time left.
- ``importer``, ``scan``, ``converter_process``: imports in place or copied, other apps' folders, pickle
  conversion in a child process (the converter itself is ``engine.pickle_to_safetensors``).
- ``network``: offline mode, telemetry off, proxies, the Hub endpoint; ``sysinfo``: GPU memory without torch.
"""
