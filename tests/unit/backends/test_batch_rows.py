"""The tensor-free bookkeeping of batched decoding: the left-padded layout of rows sharing a KV cache, and a
row's text events."""

from __future__ import annotations

from harness.backends.base import Usage
from harness.backends.batch_rows import PaddedLayout, RowText


def test_layout_pads_the_shorter_side_and_counts_positions_per_row():
    layout = PaddedLayout()
    assert layout.add(5) == (0, 0)  # the first row: nothing to pad
    assert layout.add(3) == (0, 2)  # shorter than the batch: the new row is padded
    assert layout.add(8) == (3, 0)  # longer: every row already there is padded by 3
    assert layout.width == 8 and layout.positions() == [5, 3, 8]
    assert layout.pads() == [3, 5, 0]
    layout.step()
    assert layout.width == 9 and layout.positions() == [6, 4, 9]
    assert layout.pads() == [3, 5, 0]


def test_layout_cuts_the_columns_that_only_padding_is_left_in():
    layout = PaddedLayout()
    for length in (4, 10, 6):
        layout.add(length)
    layout.step()  # lengths 5, 11, 7 in width 11
    assert layout.keep([2, 0]) == 4  # the longest row left has 7 tokens: 4 leading columns are padding in all
    assert layout.width == 7 and layout.lengths == [7, 5]
    assert layout.pads() == [0, 2]
    assert layout.keep([0, 1]) == 0
    assert layout.keep([]) == 0 and layout.width == 0
    assert layout.add(2) == (0, 0)  # an emptied layout starts again from the new row


def _decode(ids: list[int]) -> str:
    # as a byte-level tokenizer decodes: ids 0-25 are letters, 26 a space, 90 and 91 the two bytes of "é"
    pieces = {26: b" ", 90: b"\xc3", 91: b"\xa9"}
    return b"".join(pieces.get(i, bytes([ord("a") + i])) for i in ids).decode("utf-8", errors="replace")


def test_row_text_one_event_per_token_holds_a_stop_string_start_and_ends_at_it():
    row = RowText(_decode, ["cd"], eos={99}, n_prompt=7, max_tokens=10)
    assert [row.feed(t) for t in (0, 1, 2)] == ["a", "b", ""]  # "c" may start "cd": held back
    assert not row.done
    assert row.feed(3) == "" and row.stopped and row.done
    (usage,) = row.end()
    assert usage == Usage(7, 4, "runtime", "runtime", finish_reason="stop")


def test_row_text_releases_held_text_at_the_end_and_counts_eos_apart():
    row = RowText(_decode, ["cd"], eos={99}, n_prompt=3, max_tokens=10)
    assert [row.feed(t) for t in (0, 2)] == ["a", ""]
    assert row.feed(99) == "" and row.ended and row.done  # end of sequence: not counted, nothing shown
    assert row.end() == ["c", Usage(3, 2, "runtime", "runtime", finish_reason="stop")]


def test_row_text_waits_for_a_split_character_and_stops_at_max_tokens():
    row = RowText(_decode, [], eos={99}, n_prompt=1, max_tokens=3)
    assert row.feed(0) == "a"
    assert row.feed(90) == ""  # half a character: shown once complete
    assert row.feed(91) == "é" and row.done and not row.stopped
    assert row.end() == [Usage(1, 3, "runtime", "runtime", finish_reason="length")]
