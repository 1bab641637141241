"""select_cut: the cut training uses, and every produced cut side by side."""
import pytest
from kfp import dsl
from standins import artifact, as_kfp_returns, example_chain

from components import select_cut
from knowledge_mixing.errors import ParameterError


@pytest.fixture(scope="module")
def cuts(tmp_path_factory):
    chain = example_chain(tmp_path_factory)
    # as KFP hands the collected cuts over: numbers in the metadata as floats
    return [artifact(dsl.Dataset, c.mixed.path, **as_kfp_returns(c.mixed.metadata))
            for c in chain.cuts.values()]


def select(cuts, tmp_path, train_cut):
    training = artifact(dsl.Dataset, tmp_path / "training")
    comparison = artifact(dsl.Markdown, tmp_path / "comparison.md")
    select_cut.python_func(cuts=cuts, training_dataset=training, comparison=comparison,
                           train_cut=train_cut)
    return training, open(comparison.path).read()


def test_the_largest_cut_by_default(cuts, tmp_path):
    training, comparison = select(cuts, tmp_path, 0)
    assert open(training.path, "rb").read() == open(cuts[-1].path, "rb").read()
    assert training.metadata == cuts[-1].metadata and training.metadata["cut"] == 5
    assert "| 5 ← training | 135 |" in comparison
    assert "| 1 | 69 |" in comparison


def test_train_cut_names_another(cuts, tmp_path):
    training, comparison = select(cuts, tmp_path, 1)
    assert open(training.path, "rb").read() == open(cuts[0].path, "rb").read()
    assert "| 1 ← training | 69 |" in comparison


def test_a_cut_that_was_not_produced_fails(cuts, tmp_path):
    with pytest.raises(ParameterError, match=r"train_cut: cut 7 was not produced "
                       r"\(produced: \[1, 5\]\)"):
        select(cuts, tmp_path, 7)
