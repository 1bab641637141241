# Stand-in for red-hat-data-services/pipelines-components at dd8d0c0 (kfp-components 1.11.0).
# Module path, decorator settings and signature are the real ones (read from that commit, see
# /work/notes/issue12_research.md); the body is not theirs: tests compile it and never run it.
"""SDG Hub KFP Component (stand-in)."""

import kfp.compiler  # noqa: F401  (as the real module)
from kfp import dsl


@dsl.component(
    packages_to_install=["sdg-hub>=0.7.0,<1.0"],
)
def sdg(
    output_artifact: dsl.Output[dsl.Dataset],
    output_metrics: dsl.Output[dsl.Metrics],
    input_artifact: dsl.Input[dsl.Dataset] = None,
    input_pvc_path: str = "",
    flow_id: str = "",
    flow_yaml_path: str = "",
    model: str = "",
    max_concurrency: int = 10,
    checkpoint_pvc_path: str = "",
    save_freq: int = 100,
    log_level: str = "INFO",
    temperature: float = -1.0,
    max_tokens: int = -1,
    export_to_pvc: bool = False,
    export_path: str = "",
    runtime_params: dict = None,
):
    """Stand-in: compiled by the tests, never run."""
    raise RuntimeError("stand-in of kfp-components sdg: not runnable")
