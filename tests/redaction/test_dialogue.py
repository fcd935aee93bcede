"""Dialogue context: the customer's answer to an identifier request is masked, whatever it was."""

from __future__ import annotations

import random

import pytest

from callvault.redaction.asr import Recognition, Word
from callvault.redaction.dialogue import (
    Turn,
    acknowledgement_spans,
    answer_spans,
    caller_introduction_spans,
    introduction_spans,
    readback_spans,
    relation_spans,
    turns,
    vocative_spans,
)
from callvault.redaction.spans import TimeSpan
from tests.redaction.conftest import words


def rec(ws: list[Word], extra: tuple[tuple[float, float], ...] = ()) -> Recognition:
    return Recognition(tuple(ws), tuple((w.start, w.end) for w in ws) + extra)


OPENING = words("välkommen till kundtjänst jag heter Maria", 0.0)


@pytest.mark.parametrize(
    ("question", "answer", "kind", "masked_from"),
    [
        ("vad heter du", "jag heter zxq wrr", "PERSON", "zxq"),
        ("vem pratar jag med", "det är blorp", "PERSON", "blorp"),
        ("kan jag få ditt personnummer", "ja fnorr gnarr", "PERSONNUMMER", "fnorr"),
        ("vilket telefonnummer har du", "noll sju noll", "PHONE", "noll"),
        ("och din e-post", "zlatan punkt se", "EMAIL", "zlatan"),
        ("vilken adress ska vi skicka till", "storgatan ett", "ADDRESS", "storgatan"),
        ("och det är för pesommer", "fyra fyra ett", "PHONE", "fyra"),  # misheard request
        ("who am i speaking with", "it's jane", None, None),  # an English cue in Swedish rules
    ],
)
def test_the_answer_after_a_request_is_masked_after_its_lead_in(
    question: str, answer: str, kind: str | None, masked_from: str | None
) -> None:
    agent = OPENING + words(question, 4.0) + words("tack", 12.0)
    customer = words(answer, 6.0)
    spans = answer_spans(rec(agent), rec(customer), customer_channel=1, language="sv")
    if kind is None:
        assert spans == []
        return
    i = next(i for i, w in enumerate(customer) if w.text == masked_from)
    lead_end = customer[i - 1].end if i else customer[0].start
    assert [s.entity_type for s in spans] == [kind]
    assert lead_end <= spans[0].start <= customer[i].start
    assert spans[0].end == pytest.approx(customer[-1].end)


def test_the_answer_includes_speech_the_recogniser_did_not_hear() -> None:
    agent = OPENING + words("vad heter du", 4.0) + words("tack", 12.0)
    customer = rec([], ((6.0, 7.5),))
    spans = answer_spans(rec(agent), customer, customer_channel=1, language="sv")
    assert [(s.start, s.end) for s in spans] == [(6.0, 7.5)]


def test_an_unheard_agent_turn_counts_as_a_request() -> None:
    agent = rec(OPENING + words("tack", 12.0), ((4.0, 5.0),))
    spans = answer_spans(agent, rec(words("blarg", 6.0)), customer_channel=1, language="sv")
    assert [s.entity_type for s in spans] == ["ANSWER"]


@pytest.mark.parametrize(
    "agent_text",
    [
        "välkommen till kundtjänst mitt namn är Maria",  # the agent's own introduction
        "vi skickar instruktioner till din e-post",  # last turn: the reply is a goodbye
    ],
)
def test_statements_are_not_requests(agent_text: str) -> None:
    agent = words(agent_text, 0.0)
    customer = words("tack så mycket hej", 4.0)
    assert answer_spans(rec(agent), rec(customer), customer_channel=1, language="sv") == []


def test_english_requests() -> None:
    agent = words("hello this is support", 0.0) + words("what is your phone number", 3.0)
    agent += words("thanks", 9.0)
    spans = answer_spans(
        rec(agent), rec(words("oh seven seven", 5.0)), customer_channel=1, language="en"
    )
    assert [s.entity_type for s in spans] == ["PHONE"]


def test_an_introduction_without_a_recognised_name_masks_its_unsure_words() -> None:
    opening = words("välkommen till kundtjänst jag heter", 0.0) + [Word("Mxyz", 2.0, 2.4, 0.2)]
    spans = introduction_spans(rec(opening), agent_channel=0, language="sv", found=[])
    assert [(s.start, s.end) for s in spans] == [(2.0, 2.4)]
    named = [TimeSpan(0, 2.0, 2.4, "PERSON", 0.9, "KnownNameDetector")]
    confident = opening[:-1] + [Word("Maria", 2.0, 2.4, 0.9)]
    assert introduction_spans(rec(confident), agent_channel=0, language="sv", found=named) == []


@pytest.mark.parametrize(
    ("opening", "masked"),
    [
        ("Godmådon, du pratar med Xyzzy, vad gäller saken?", ["Xyzzy,"]),  # opening words kept
        ("Mälkommen till Norrnet, du pratar med Peter", ["Peter"]),  # not a misheard "heter"
        ("Hej och välkommen, det är Sanna", ["Sanna"]),
    ],
)
def test_an_unnamed_introduction_keeps_its_greeting_words(opening: str, masked: list[str]) -> None:
    heard = words(opening, 0.0, p=0.4)
    spans = introduction_spans(
        rec(heard), agent_channel=0, language="sv", found=[], organisation=("Norrnet",)
    )
    hit = [w.text for w in heard if any(s.start <= w.start and w.end <= s.end for s in spans)]
    assert hit == masked


@pytest.mark.parametrize(
    ("answer", "masked"),
    [
        ([("ja", 0.9), ("qwrr", 0.3), ("zzt", 0.2), ("tack", 0.9)], ("qwrr", "zzt")),
        ([("nej", 0.9), ("det", 0.9), ("var", 0.9), ("allt", 0.9)], None),  # all heard surely
    ],
)
def test_after_a_misheard_question_the_unsure_middle_of_the_answer_is_masked(
    answer: list[tuple[str, float]], masked: tuple[str, str] | None
) -> None:
    agent = OPENING + words("blubb fnarg snirr", 4.0, p=0.3) + words("okej", 12.0)
    customer = [Word(t, 6.0 + i * 0.5, 6.4 + i * 0.5, p) for i, (t, p) in enumerate(answer)]
    spans = answer_spans(rec(agent), rec(customer), customer_channel=1, language="sv")
    if masked is None:
        assert spans == []
        return
    first = next(w for w in customer if w.text == masked[0])
    last = next(w for w in customer if w.text == masked[1])
    assert len(spans) == 1 and spans[0].entity_type == "ANSWER"
    assert spans[0].start <= first.start and spans[0].end >= last.end
    assert spans[0].start >= customer[0].end and spans[0].end <= customer[-1].start


def test_sure_ordinary_words_in_an_unsure_answer_stay_audible() -> None:
    agent = OPENING + words("blubb fnarg snirr", 4.0, p=0.3) + words("okej", 12.0)
    answer = [("det", 0.9), ("qwrr", 0.3), ("som", 0.9), ("jag", 0.9), ("köpte", 0.9),
              ("zzt", 0.2), ("sju", 0.9), ("fem", 0.9), ("tre", 0.9), ("vrr", 0.2)]  # fmt: skip
    customer = [Word(t, 6.0 + i * 0.5, 6.4 + i * 0.5, p) for i, (t, p) in enumerate(answer)]
    spans = answer_spans(rec(agent), rec(customer), customer_channel=1, language="sv")
    masked = {w.text for w in customer if any(s.start < w.end and s.end > w.start for s in spans)}
    # "som jag köpte" is a sentence going on; the sure digits between unsure words are not
    assert masked == {"qwrr", "zzt", "sju", "fem", "tre", "vrr"}


def test_short_sure_words_between_unsure_ones_are_no_sentence_and_a_sure_number_ends_it() -> None:
    agent = OPENING + words("blubb fnarg snirr", 4.0, p=0.3) + words("okej", 12.0)
    answer = [("ja", 0.9), ("qwrr", 0.3), ("nu", 0.9), ("nu", 0.9), ("du", 0.9),
              ("zzt", 0.2), ("fem", 0.9)]  # fmt: skip
    customer = [Word(t, 6.0 + i * 0.5, 6.4 + i * 0.5, p) for i, (t, p) in enumerate(answer)]
    spans = answer_spans(rec(agent), rec(customer), customer_channel=1, language="sv")
    masked = [w.text for w in customer if any(s.start < w.end and s.end > w.start for s in spans)]
    # "nu nu du" is how "noll sju tre" may come out; "fem" heard surely is still a digit
    assert masked == ["qwrr", "nu", "nu", "du", "zzt", "fem"]


@pytest.mark.parametrize(
    ("opening", "masked"),
    [
        ("hej jag heter", ["Qwrr", "Zzt"]),  # a misheard name after the cue
        ("hej jag är", ["Qwrr", "Zzt"]),
        ("hej det är", ["Qwrr", "Zzt"]),  # "hej, det är Sofia Hansson"
        ("hej mitt namn är", ["Qwrr", "Zzt"]),  # "är" between the cue and the name
        ("hej mittarm är", ["Qwrr", "Zzt"]),  # the cue run together and misheard
        ("hej mitt nammn", ["Qwrr", "Zzt"]),  # a cue word misheard
        ("hej du är", ["Qwrr", "Zzt"]),  # "det är", its short word misheard
        ("hej nu är", []),  # another short word: no cue
        ("hej och god morgon", []),  # no self-introduction cue
    ],
)
def test_a_callers_misheard_introduction_is_masked_after_its_cue(
    opening: str, masked: list[str]
) -> None:
    start = len(opening.split()) * 0.4
    heard = words(opening, 0.0) + [Word("Qwrr", start, start + 0.3, 0.2),
                                   Word("Zzt", start + 0.4, start + 0.7, 0.3),
                                   Word("ringer", start + 0.8, start + 1.1, 0.9)]  # fmt: skip
    spans = caller_introduction_spans(rec(heard), customer_channel=1, language="sv")
    assert hit_words(heard, spans) == masked


def test_a_cue_after_a_name_already_found_is_the_call_going_on() -> None:
    heard = words("hej det är", 0.0) + [Word("Qwrr", 1.2, 1.5, 0.9)]
    heard += words("jag är", 1.6) + [Word("Zzt", 2.4, 2.7, 0.3), Word("kund", 2.8, 3.1, 0.3)]
    found = [TimeSpan(1, 1.2, 1.5, "PERSON", 0.9, "SwedishNameListDetector")]
    spans = caller_introduction_spans(rec(heard), customer_channel=1, language="sv", found=found)
    assert spans == []
    assert caller_introduction_spans(rec(heard), customer_channel=1, language="sv") != []


def test_a_confidently_heard_name_leaves_nothing_more_to_mask() -> None:
    heard = words("hej jag heter Anna Svensson och ringer", 0.0, p=0.95)
    assert caller_introduction_spans(rec(heard), customer_channel=1, language="sv") == []


def hit_words(heard: list[Word], spans: list[TimeSpan]) -> list[str]:
    return [w.text for w in heard if any(s.start <= w.start and w.end <= s.end for s in spans)]


@pytest.mark.parametrize(
    ("said", "masked"),
    [
        ("min sambo Qwrr Zzt har samma problem", ["Qwrr", "Zzt"]),
        ("min sorg Qwrr har kontot", ["Qwrr"]),  # "min son", misheard
        ("min män Qwrr, har redan ringt", ["Qwrr,"]),  # "min man"; the clause ends the name
        ("min kollega är Qwrr har", ["Qwrr"]),  # "är" between relation and name
        ("för minsambo Qwrr har", ["Qwrr"]),  # the possessive run into the relation
        ("min sorgn, Qwrr har", ["Qwrr"]),  # "min son, …"
        ("min sak är Qwrr har", []),  # not a relation
        ("min router Qwrr har", []),
    ],
)
def test_a_third_person_after_a_relation_is_masked(said: str, masked: list[str]) -> None:
    heard = [
        w if w.text.strip(",") in {"Qwrr", "Zzt"} else Word(w.text, w.start, w.end, 0.9)
        for w in words(said, 0.0, p=0.3)
    ]
    spans = relation_spans(rec(heard), channel=1, language="sv")
    assert hit_words(heard, spans) == masked


@pytest.mark.parametrize(
    ("said", "masked"),
    [
        ("ok, Qwrr, du ska få", ["Qwrr,"]),
        ("ha en fin dag, Qwrr.", ["Qwrr."]),
        ("tack för samtalet, Qwrr Zzt.", ["Qwrr", "Zzt."]),
        ("ok, Qwrr du ska få", ["Qwrr"]),  # the pronoun starts the sentence after the name
        ("ok, Qwrr Zzt Fnorr Blarg", []),  # no end to the clause: a sentence, not a name
        ("ok, då Qwrr.", []),  # "ok, då …" goes on with the matter
        ("ok Qwrr, du ska få", []),  # no comma after the thanks
        ("perfekt, Tak.", []),  # "perfekt, tack." is two thanks, not a name
    ],
)
def test_a_name_in_direct_address_is_masked(said: str, masked: list[str]) -> None:
    heard = [
        w
        if w.text.strip(",.") in {"Qwrr", "Zzt", "Tak", "Fnorr", "Blarg"}
        else Word(w.text, w.start, w.end, 0.9)
        for w in words(said, 0.0, p=0.3)
    ]
    spans = vocative_spans(rec(heard), channel=0, language="sv")
    assert hit_words(heard, spans) == masked


def test_an_identifier_the_agent_reads_back_is_masked() -> None:
    heard = words("stämmer det att ditt nummer är", 0.0, p=0.9) + words(
        "qwrr zzt fnorr", 2.4, p=0.3
    )
    spans = readback_spans(rec(heard), agent_channel=0, language="sv")
    assert hit_words(heard, spans) == ["qwrr", "zzt", "fnorr"]
    plain = words("ditt nummer är", 0.0, p=0.9) + words("qwrr zzt fnorr", 1.2, p=0.3)
    assert readback_spans(rec(plain), agent_channel=0, language="sv") == []  # no confirmation


def test_a_clearly_heard_statement_is_not_treated_as_a_request() -> None:
    agent = OPENING + words("jag förstår att det är frustrerande", 4.0, p=0.9) + words("ok", 12.0)
    customer = words("qwrr zzt", 6.0, p=0.3)
    assert answer_spans(rec(agent), rec(customer), customer_channel=1, language="sv") == []


@pytest.mark.parametrize(
    ("reply", "found", "masked"),
    [
        ("Tack, Qwrr. Vilken modell", False, ["Qwrr."]),  # the name after the thanks
        ("Takt Qwrr, vilken modell", False, ["Qwrr,"]),  # the thanks itself misheard
        ("Okej Qwrr Zzt vilken", False, ["Qwrr", "Zzt"]),  # at most two words
        ("Tack. Qwrr Zzt", False, []),  # "Tack." ends the sentence: no name follows
        ("Tack, Qwrr. Vilken modell", True, []),  # a name was found there already
        ("Qwrr Zzt vilken modell", False, []),  # no acknowledgement: the matter goes on
        ("Tack, jag Qwrr", False, []),  # a pronoun is not a name
        ("Okej, telefonummer då", False, []),  # a request word is not a name
    ],
)
def test_a_name_in_the_agents_thanks_after_an_answer_is_masked(
    reply: str, found: bool, masked: list[str]
) -> None:
    said = words(reply, 12.0, p=0.3)
    said = [w if w.text[:4] in {"Qwrr", "Zzt"} else Word(w.text, w.start, w.end, 0.8) for w in said]
    agent = OPENING + words("vilket telefonnummer har du", 4.0) + said
    customer = words("noll sju noll", 7.0)
    names = [TimeSpan(0, 12.3, 12.9, "PERSON", 0.8, "KnownNameDetector")] if found else []
    spans = acknowledgement_spans(
        rec(agent), rec(customer), agent_channel=0, language="sv", found=names
    )
    hit = [w.text for w in said if any(s.start <= w.start and w.end <= s.end for s in spans)]
    assert hit == masked


def test_no_thanks_is_masked_when_the_caller_did_not_answer() -> None:
    agent = OPENING + words("vilket telefonnummer har du", 4.0) + words("tack Qwrr", 6.0, p=0.3)
    spans = acknowledgement_spans(rec(agent), rec([]), agent_channel=0, language="sv", found=[])
    assert spans == []


def reference_turns(recognition: Recognition, max_gap_s: float = 0.8) -> list[Turn]:
    """The plain quadratic definition that `turns` computes by bisection."""
    regions: list[list[float]] = []
    for start, end in sorted(recognition.speech):
        if regions and start - regions[-1][1] <= max_gap_s:
            regions[-1][1] = max(regions[-1][1], end)
        else:
            regions.append([start, end])
    for w in recognition.words:
        if not any(s - 0.3 <= w.start <= e + 0.3 for s, e in regions):
            regions.append([w.start, w.end])
    regions.sort()
    return [
        Turn(
            s, e, tuple(w for w in recognition.words if s - 0.3 <= (w.start + w.end) / 2 <= e + 0.3)
        )
        for s, e in regions
    ]


@pytest.mark.parametrize("seed", range(30))
def test_turns_match_their_plain_definition(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311  (test data, not secrets)
    t, heard, speech = 0.0, [], []
    for _ in range(rng.randint(0, 40)):
        t += rng.choice([0.05, 0.3, 0.7, 0.9, 2.0])
        length = rng.uniform(0.1, 0.8)
        heard.append(Word("ord", t, t + length, 0.5))
        if rng.random() < 0.7:
            speech.append((t - rng.uniform(0, 0.4), t + length + rng.uniform(-0.2, 0.4)))
        t += length
    recognition = Recognition(tuple(heard), tuple(speech))
    for gap in (0.3, 0.8):
        assert turns(recognition, gap) == reference_turns(recognition, gap)
