"""KFP component: the knowledge sets → the knowledge rows table (Parquet) + counts per set."""
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output

from .image import COMPONENT_SETTINGS


@dsl.component(**COMPONENT_SETTINGS)
def load_knowledge(
    knowledge_rows: Output[Dataset],
    metrics: Output[Metrics],
    save_gpt_oss_format: bool,
    max_sample_chars: int,
    step03: Input[Artifact] = None,
    extractive_summary: Input[Dataset] = None,
    detailed_summary: Input[Dataset] = None,
    key_facts_to_qa: Input[Dataset] = None,
    document_based_qa: Input[Dataset] = None,
) -> dict:
    """Read the knowledge sets — the generation step's folder (`step03`, one sub-folder per set),
    and/or one Dataset per set (a JSONL file or a folder of them, as the per-flow `sdg` component
    writes) — in both sdg_hub layouts, clean and normalise them, and write one typed Parquet
    table. A set given both ways, or no input at all, is an error. Returns what it read (the
    artifact's metadata) for the run summary, which then need not download the table."""
    from knowledge_mixing.logs import configure_logging
    from knowledge_mixing.stages.load import LoadOptions, load_stage

    configure_logging()
    given = {"extractive_summary": extractive_summary, "detailed_summary": detailed_summary,
             "key_facts_to_qa": key_facts_to_qa, "document_based_qa": document_based_qa}
    measured = load_stage(step03.path if step03 else None, knowledge_rows.path,
                          LoadOptions(save_gpt_oss_format, max_sample_chars),
                          {name: dataset.path for name, dataset in given.items() if dataset})
    measured.publish(metrics, knowledge_rows=knowledge_rows)
    return measured.metadata["knowledge_rows"]
