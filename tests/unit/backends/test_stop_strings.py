"""Stop strings in streamed text: nothing of a stop string is ever shown, and the answer ends before it."""

from __future__ import annotations

from harness.backends.stop_strings import StopScanner, held_back


def _stream(pieces, stops):
    scanner, text, shown, stopped = StopScanner(stops), "", [], False
    for piece in pieces:
        text += piece
        fresh, stopped = scanner.feed(text)
        shown.append(fresh)
        if stopped:
            break
    if not stopped:
        shown.append(scanner.rest(text))
    return shown, stopped


def test_stop_string_split_over_tokens_is_held_back_then_cut():
    shown, stopped = _stream(["The answer", " is 4", "2.\nQue", "stion:", " next"], ["\nQuestion:"])
    assert stopped and "".join(shown) == "The answer is 42."
    assert all("\n" not in piece and "Que" not in piece for piece in shown)


def test_a_false_start_is_released_when_it_does_not_complete():
    shown, stopped = _stream(["Tom said \nQue", "en Anne"], ["\nQuestion:"])
    assert not stopped and "".join(shown) == "Tom said \nQueen Anne"
    assert shown[0] == "Tom said "                   # "\nQue" waited for the next token


def test_held_back_text_is_shown_when_the_stream_ends():
    shown, stopped = _stream(["ok \nQu"], ["\nQuestion:"])
    assert not stopped and "".join(shown) == "ok \nQu"


def test_no_stops_and_several_stops():
    assert _stream(["a", "b"], [])[0] == ["a", "b", ""]
    shown, stopped = _stream(["x END y", " STOP"], ["STOP", "END"])
    assert stopped and "".join(shown) == "x "


def test_held_back_lengths():
    assert held_back("abc\nQ", ["\nQuestion:"]) == 2
    assert held_back("abc", ["\nQuestion:"]) == 0
    assert held_back("abc\n", ["\n"]) == 0            # a one-character stop is found, never held
