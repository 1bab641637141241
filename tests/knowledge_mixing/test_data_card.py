"""The data card's parts that the stage tests do not reach (the card of a real cut:
stages/test_mix.py)."""
from knowledge_mixing.data_card import shortened, trainer_check_markdown


def test_long_strings_are_shortened_saying_how_much_is_left_out():
    row = {"question": "Short?", "messages": [{"content": "x" * 250}], "token_length": 300}
    assert shortened(row, limit=240) == {
        "question": "Short?", "messages": [{"content": "x" * 240 + "… [10 more characters]"}],
        "token_length": 300}


def test_the_trainer_check_says_whether_it_ran_and_what_the_trainer_accepted():
    assert "Not run (`--check-with-trainer`" in "\n".join(trainer_check_markdown(None))
    assert trainer_check_markdown({"available": False, "message": "trainer check skipped: x"})[-1] \
        == "trainer check skipped: x"
    checked = "\n".join(trainer_check_markdown({
        "available": True, "versions": {"instructlab-training": "0.16.2", "torch": "2.13.0+cpu"},
        "rows": 135, "accepted": 134, "end_of_turn_trained": 135, "token_length_agrees": 135,
        "min_seq_len": 20, "max_seq_len": 4096,
        "problems": ["1 rows outside 20 ≤ tokens < 4096: the trainer drops them"]}))
    assert "instructlab-training 0.16.2 (torch 2.13.0+cpu), length bounds 20 ≤ tokens < 4,096:" \
        in checked
    assert "| 135 | 134 | 135 | 135 |" in checked
    assert checked.endswith("- 1 rows outside 20 ≤ tokens < 4096: the trainer drops them")
