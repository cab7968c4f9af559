"""IFEval scoring (`ifeval_official`) on hand-written replies, each with the result the reference gives.

Every expected result below is worked by hand from the reference checkers' rules (google-research
instruction_following_eval) and its two tests: strict = the reply as it is; loose = any of 8 variants (the
reply, without `*`, and each without its first line, last line or both). Rows carry kwargs as the Hugging Face
copy of google/IFEval does: every field present, None where it does not apply.
"""

from __future__ import annotations

import pytest

from harness.checkers import CHECKERS, IfevalOfficialChecker, run_checker
from harness.checkers.ifeval_official import instruction_registry, loose_variants

KWARG_FIELDS = ("num_highlights", "relation", "num_words", "num_placeholders", "prompt_to_repeat",
                "num_paragraphs", "postscript_marker", "first_word", "forbidden_words", "keywords", "num_bullets",
                "end_phrase", "nth_paragraph", "capital_frequency", "capital_relation", "language",
                "let_frequency", "let_relation", "letter", "num_sections", "section_spliter", "frequency",
                "keyword", "num_sentences")
ENDING = "Is there anything else I can help with?"


def row(*instructions: tuple[str, dict], prompt: str = "Write something.") -> dict:
    """An IFEval row in the Hub's layout."""
    kwargs = [{field: options.get(field) for field in KWARG_FIELDS} for _, options in instructions]
    return {"prompt": prompt, "instruction_id_list": [i for i, _ in instructions], "kwargs": kwargs}


NO_COMMA = ("punctuation:no_comma", {})
END = ("startend:end_checker", {"end_phrase": ENDING})
TITLE = ("detectable_format:title", {})
JSON = ("detectable_format:json_format", {})
HIGHLIGHTS_2 = ("detectable_format:number_highlighted_sections", {"num_highlights": 2})
BULLETS_2 = ("detectable_format:number_bullet_lists", {"num_bullets": 2})
PARAGRAPHS_2 = ("length_constraints:number_paragraphs", {"num_paragraphs": 2})
PS = ("detectable_content:postscript", {"postscript_marker": "P.S."})
PPS = ("detectable_content:postscript", {"postscript_marker": "P.P.S"})
HAS_CAT = ("keywords:existence", {"keywords": ["cat"]})
NO_CAT = ("keywords:forbidden_words", {"forbidden_words": ["cat"]})
SUN_2 = ("keywords:frequency", {"keyword": "sun", "frequency": 2, "relation": "at least"})
Z_UNDER_2 = ("keywords:letter_frequency", {"letter": "z", "let_frequency": 2, "let_relation": "less than"})
UNDER_5_WORDS = ("length_constraints:number_words", {"num_words": 5, "relation": "less than"})
UNDER_2_SENTENCES = ("length_constraints:number_sentences", {"num_sentences": 2, "relation": "less than"})
QUOTED = ("startend:quotation", {})
CONSTRAINED = ("detectable_format:constrained_response", {})
TWO = ("combination:two_responses", {})
REPEAT = ("combination:repeat_prompt", {"prompt_to_repeat": "Write a haiku about rain."})
SECTIONS_2 = ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2})
SECOND_HOWEVER = ("length_constraints:nth_paragraph_first_word",
                  {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "however"})
PLACEHOLDERS_2 = ("detectable_content:number_placeholders", {"num_placeholders": 2})
LOWER_EN = ("change_case:english_lowercase", {})
CAPITALS_2 = ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": "at least"})
GERMAN = ("language:response_language", {"language": "de"})

# (instructions, reply, per-instruction strict, per-instruction loose)
CASES = [
    ([NO_COMMA], "no commas here at all", [True], [True]),
    ([NO_COMMA], "Sure, here it is:\nroses are red\nviolets are blue", [False], [True]),      # first line off
    ([NO_COMMA], "roses are red\nviolets are blue\nHope this helps, friend", [False], [True]),  # last line off
    ([NO_COMMA], "Sure, here:\nroses are red\nEnjoy, friend", [False], [True]),               # both lines off
    ([NO_COMMA], "one line, with a comma", [False], [False]),     # the trimmed variants are blank: skipped
    ([NO_COMMA], "", [False], [False]),                           # a blank reply follows nothing
    ([NO_COMMA], "   \n  ", [False], [False]),
    ([END], f"Paris is the capital.\n**{ENDING}**", [False], [True]),                        # `*` removed
    ([END], f'"Paris is the capital. {ENDING}"', [True], [True]),                            # quotes stripped
    ([END], f"{ENDING} Yes.", [False], [False]),
    ([TITLE], "<<My Poem>>\nroses are red", [True], [True]),
    ([TITLE], "<< >>\nroses are red", [False], [False]),          # an empty title is no title
    ([TITLE], "**<<Poem>>**", [True], [True]),
    ([JSON], '```json\n{"a": 1}\n```', [True], [True]),
    ([JSON], 'Here is the JSON:\n{"a": 1}', [False], [True]),
    ([JSON], 'Here is the JSON:\n```json\n{"a": 1}\n```\nDone.', [False], [True]),
    ([HIGHLIGHTS_2], "*one* and *two*", [True], [True]),
    ([HIGHLIGHTS_2], "**one** and **two**", [True], [True]),
    ([HIGHLIGHTS_2], "**one** only", [False], [False]),           # a bold run counts once
    ([BULLETS_2], "* a\n* b", [True], [True]),
    ([BULLETS_2], "Here you go:\n- a\n- b\n- c", [False], [True]),  # dropping the last line leaves two
    ([PARAGRAPHS_2], "First part.\n***\nSecond part.", [True], [True]),
    ([PARAGRAPHS_2], "First.\n***\n***\nSecond.", [False], [False]),  # an empty middle paragraph
    ([PS], "Hello.\nP.S. see you", [True], [True]),
    ([PS], "Hello. ps see you", [False], [False]),
    ([PPS], "Hi.\nP.P.S. bye", [True], [True]),
    ([HAS_CAT], "The category is large", [True], [True]),         # the reference searches substrings
    ([NO_CAT], "The category is large", [True], [True]),          # ... but forbids whole words
    ([NO_CAT], "A cat sat.", [False], [False]),
    ([SUN_2], "Sun and sunshine", [True], [True]),
    ([Z_UNDER_2], "pizza", [False], [False]),
    ([UNDER_5_WORDS], "Sure! Here it is:\nshort text here", [False], [True]),
    ([UNDER_2_SENTENCES], "One sentence. Two sentences.", [False], [False]),
    ([UNDER_2_SENTENCES], "Dr. Smith went home.", [True], [True]),  # Punkt knows "Dr." is no sentence end
    ([QUOTED], '"hello world"', [True], [True]),
    ([QUOTED], 'Answer:\n"hello"', [False], [True]),
    ([CONSTRAINED], "My answer is yes.", [True], [True]),
    ([CONSTRAINED], "Yes", [False], [False]),
    ([TWO], "Answer one.\n******\nAnswer two.", [True], [True]),
    ([TWO], "Same\n******\nSame", [False], [False]),
    ([REPEAT], "Write a haiku about rain. Drops fall on the roof", [True], [True]),
    ([REPEAT], "Sure!\nWrite a haiku about rain.\nDrops fall", [False], [True]),
    ([SECTIONS_2], "Section 1\nintro\nSection 2\nmore", [True], [True]),
    ([SECTIONS_2], "SECTION 1\nintro\nSECTION 2\nmore", [False], [False]),  # the splitter is case-sensitive
    ([SECOND_HOWEVER], "Intro.\n\nHowever, it rains.", [True], [True]),
    ([PLACEHOLDERS_2], "Dear [name], at [address]", [True], [True]),
    ([PLACEHOLDERS_2], "Dear [name]", [False], [False]),
    ([LOWER_EN], "the quick brown fox jumps over the lazy dog and then runs into the forest to look for food",
     [True], [True]),
    ([LOWER_EN], "The quick brown fox jumps over the lazy dog and then runs into the forest to look for food",
     [False], [False]),
    ([CAPITALS_2], "NASA and the FBI met.", [True], [True]),
    ([GERMAN], "Das ist ein schöner Tag und wir gehen heute zusammen in den großen Park spazieren.", [True], [True]),
    # several instructions: each is scored on its own, and loose may use a different variant for each
    ([NO_COMMA, TITLE], "Sure, here:\n<<Rain>>\ndrops fall", [False, True], [True, True]),
    ([NO_COMMA, END], f"Hi, there\nsome content\n{ENDING}", [False, True], [True, True]),
    ([TITLE, BULLETS_2], "<<List>>\n* a", [True, False], [True, False]),
]


@pytest.mark.parametrize(("instructions", "reply", "strict", "loose"), CASES)
def test_reference_strict_and_loose(instructions, reply, strict, loose):
    verdict = IfevalOfficialChecker().check(reply, row(*instructions))
    assert verdict.scores == {"prompt_strict": all(strict), "prompt_loose": all(loose),
                              "inst_strict": strict, "inst_loose": loose}
    assert verdict.correct is all(strict)
    assert IfevalOfficialChecker(headline="prompt_loose").check(reply, row(*instructions)).correct is all(loose)


def test_eight_loose_variants_in_reference_order():
    assert loose_variants("*a*\nb\n*c*") == ["*a*\nb\n*c*", "a\nb\nc", "b\n*c*", "*a*\nb", "b", "b\nc", "a\nb", "b"]


def test_detail_names_missed_instructions_and_bad_rows_are_errors():
    verdict = IfevalOfficialChecker().check("Hi, <<T>>", row(NO_COMMA, TITLE))
    assert verdict.detail == "1/2 followed; not: punctuation:no_comma"
    assert run_checker(IfevalOfficialChecker(), "x", row(("made:up", {}))).verdict == "error"
    assert IfevalOfficialChecker().check("x", {"prompt": "p"}).verdict == "error"
    assert CHECKERS["ifeval_official"] is IfevalOfficialChecker


def test_nltk_data_is_installed_not_downloaded(monkeypatch):
    import nltk

    def refuse(*args, **kwargs):
        raise AssertionError("IFEval scoring tried to download NLTK data")

    monkeypatch.setattr(nltk, "download", refuse)
    assert len(instruction_registry()) == 25
    nltk.data.find("tokenizers/punkt_tab/english/")
    assert IfevalOfficialChecker().check("Dr. Smith went home.", row(UNDER_2_SENTENCES)).correct
