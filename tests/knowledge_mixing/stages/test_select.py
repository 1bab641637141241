"""The select stage: the cut training uses, and all cuts side by side."""
import pytest
from helpers import mix_counted

from knowledge_mixing.errors import ParameterError
from knowledge_mixing.stages.select import select_stage, select_training_cut


def test_select_training_cut():
    assert select_training_cut([1.0, 10.0, 5.0], 0) == 1
    assert select_training_cut([1, 10, 5], None) == 1
    assert select_training_cut([1, 10, 5], 5) == 2
    assert select_training_cut([1, 10, 5], 5.0) == 2
    with pytest.raises(ParameterError, match=r"train_cut: cut 3 was not produced \(produced: \[1, 5, 10\]\)"):
        select_training_cut([1, 10, 5], 3)
    with pytest.raises(ParameterError, match="train_cut: no cut was produced"):
        select_training_cut([], 0)


def test_select_stage_copies_the_chosen_cut_and_compares_them_all(counted, tmp_path):
    mixed = mix_counted(counted("mixed"), tmp_path, cuts=[1, 5])
    # as KFP hands metadata back: numbers as floats
    cuts = [(str(mixed.outputs[cut]), {**mixed.reports[cut], "cut": float(cut)}) for cut in (5, 1)]
    for train_cut, chosen in ((0, 5), (1, 1)):
        training = tmp_path / f"training_{train_cut}.jsonl"
        comparison = tmp_path / f"comparison_{train_cut}.md"
        measured = select_stage(cuts, train_cut, str(training), str(comparison))
        assert training.read_bytes() == mixed.outputs[chosen].read_bytes()
        assert measured.metadata["training_dataset"]["cut"] == chosen
        text = comparison.read_text()
        assert text.startswith(f"# Cuts produced (training uses cut {chosen})")
        assert text.index("| 1") < text.index("| 5")
        assert f"| {chosen} ← training | {mixed.reports[chosen]['samples']} |" in text
    with pytest.raises(ParameterError, match="train_cut: cut 3 was not produced"):
        select_stage(cuts, 3, str(tmp_path / "t"), str(tmp_path / "c"))
