"""The knowledge-mixing KFP components. Importing this package needs only kfp; the logic lives
in `knowledge_mixing` and is imported inside the component bodies, in the image."""
from .count_tokens import count_tokens
from .fetch_tokenizer import fetch_tokenizer
from .load_summaries import load_summaries
from .mix_cut import mix_cut
from .select_cut import select_cut

__all__ = ["fetch_tokenizer", "load_summaries", "count_tokens", "mix_cut", "select_cut"]
