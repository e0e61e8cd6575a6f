"""The local engine's warm-up imports what a first job needs, so the job itself imports no library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# In a fresh interpreter, as the window's worker thread: warm up, then make the engine and run a job.
FIRST_JOB = """
import json, sys, threading
from desktop_sd.cli.local_engine import LocalEngineFactory
from desktop_sd.core.request import GenerationRequest, Mode

factory = LocalEngineFactory("cpu")
before = set(sys.modules)
factory.warm_up(threading.Event())
warmed = set(sys.modules)
engine = factory()
request = GenerationRequest(Mode.TXT2IMG, "a lighthouse", model=sys.argv[1], width=64, height=64, steps=2, seed=3)
result = engine.generate(request, lambda *args: None, threading.Event())
new = [sys.modules[name] for name in sorted(set(sys.modules) - warmed)]
print(json.dumps({
    "warm_up_imported_torch": "torch" in warmed - before,
    "job_imported": [module.__name__ for module in new],
    "job_loaded_extensions": [m.__name__ for m in new if str(getattr(m, "__file__", "")).endswith((".so", ".pyd"))],
    "packages_before_job": sorted({name.partition(".")[0] for name in warmed}),
    "images": len(result.images),
}))
"""


def test_after_the_warm_up_a_first_job_imports_no_library(tiny_model_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_JOB, str(tiny_model_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["warm_up_imported_torch"] and report["images"] == 1
    # A library's start-up (its C extensions above all) holds the GIL while the GUI waits for a progress update.
    # What a job may still import are a few small Python modules of libraries already there (a scheduler's).
    assert report["job_loaded_extensions"] == []
    new_packages = {name.partition(".")[0] for name in report["job_imported"]} - set(report["packages_before_job"])
    assert new_packages == set()
