"""KFP component: resolve the student tokenizer once and keep its files as an artifact."""
from kfp import dsl
from kfp.dsl import Artifact, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def fetch_tokenizer(
    tokenizer: str,
    tokenizer_files: Output[Artifact],
    trust_remote_code: bool,
):
    """Load the tokenizer named by `tokenizer` (hub model id, directory in the image or on a
    mounted volume, or `bundled-qwen`), check it has a chat template, and save its files. Hub
    access uses HF_TOKEN from the environment (a Kubernetes secret on the cluster)."""
    from knowledge_mixing.logs import configure_logging
    from knowledge_mixing.tokenizer import save_tokenizer

    configure_logging()
    measured = save_tokenizer(tokenizer, tokenizer_files.path, trust_remote_code)
    measured.publish(tokenizer_files=tokenizer_files)
