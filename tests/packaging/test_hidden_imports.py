"""The bundle's module filter keeps every diffusers and transformers module a real generation imports.

diffusers and transformers import pipeline and model classes by name at run time,
which PyInstaller cannot see; ``bundle_config.keep_module`` decides which of their
modules go into the bundle. A new import in the engine (another pipeline family,
another text encoder) fails here instead of in the frozen app on a user's machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]

TRACE = """
import json, sys
from desktop_sd.cli.selftest import run_selftest
import io
code = run_selftest(device="cpu", gui=False, out=io.StringIO())
names = sorted(m for m in sys.modules if m.split(".")[0] in ("diffusers", "transformers", "desktop_sd"))
print(json.dumps({"code": code, "modules": names}))
"""


def test_modules_imported_by_a_generation_are_all_kept(cfg: ModuleType, isolated_home: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DESKTOP_SD_HOME": str(isolated_home)}
    result = subprocess.run(
        [sys.executable, "-c", TRACE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    trace = json.loads(result.stdout.strip().splitlines()[-1])
    assert trace["code"] == 0, "the self-test failed in the trace run"
    modules = trace["modules"]
    assert "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_inpaint" in modules
    assert "transformers.models.clip.modeling_clip" in modules
    dropped = [m for m in modules if not cfg.keep_module(m)]
    assert dropped == [], f"the bundle would lack modules the app imports: {dropped}"


def test_filter_leaves_out_unused_pipeline_families(cfg: ModuleType) -> None:
    assert cfg.keep_module("diffusers.pipelines.stable_diffusion_xl.pipeline_stable_diffusion_xl_inpaint")
    assert cfg.keep_module("diffusers.pipelines.pipeline_utils")
    assert cfg.keep_module("diffusers.schedulers.scheduling_lcm")
    assert not cfg.keep_module("diffusers.pipelines.wan.pipeline_wan")
    assert not cfg.keep_module("transformers.models.llama.modeling_llama")
    assert not cfg.keep_module("diffusers.commands.env")


def test_torch_test_programs_are_dropped_and_its_libraries_kept(cfg: ModuleType) -> None:
    assert cfg.drop_file("torch/test/Dict_test")
    assert cfg.drop_file("torch/bin/test_api")
    assert cfg.drop_file("torch/lib/libtorchbind_test.so")
    assert not cfg.drop_file("torch/lib/libtorch_cpu.so")
    assert not cfg.drop_file("torch/lib/libtorch_cuda.so")
    assert not cfg.drop_file("torch/bin/torch_shm_manager")
    assert not cfg.drop_file("nvidia/cudnn/lib/libcudnn.so.9")


def test_the_schedulers_optional_dependencies_go_in(cfg: ModuleType) -> None:
    names = cfg.hidden_imports(lambda package, filter=None: [package])
    assert {"torchsde", "scipy.integrate", "scipy.stats"} <= set(names)
    assert {"scipy", "torchsde", "trampoline"} <= set(cfg.METADATA_PACKAGES)  # diffusers checks their versions
