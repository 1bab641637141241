"""The knowledge-mixing KFP components. Importing this package needs only kfp; the logic lives
in `knowledge_mixing` and is imported inside the component bodies, in the image."""
from .count_replay import count_replay
from .count_tokens import count_tokens
from .fetch_tokenizer import fetch_tokenizer
from .gather_samples import gather_samples
from .load_knowledge import load_knowledge
from .mix_cut import mix_cut
from .plan_cuts import plan_cuts
from .select_cut import select_cut
from .shard_indices import shard_indices

__all__ = ["fetch_tokenizer", "load_knowledge", "plan_cuts", "count_tokens", "count_replay", "gather_samples",
           "mix_cut", "select_cut", "shard_indices"]
