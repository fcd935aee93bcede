"""Dialogue context: when the agent asks for an identifier, the customer's answer is masked."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from callvault.redaction.asr import Recognition, Word
from callvault.redaction.detectors import normalise
from callvault.redaction.detectors.names import is_listed_name
from callvault.redaction.detectors.phonetics import similarity
from callvault.redaction.spans import TimeSpan


@dataclass(frozen=True)
class Turn:
    """A stretch of one speaker's speech with no long pause, and the words heard in it."""

    start: float
    end: float
    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        return " ".join(normalise(w.text) for w in self.words)


def turns(recognition: Recognition, max_gap_s: float = 0.8) -> list[Turn]:
    """Voice-activity regions joined across short pauses, each with the words inside it."""
    regions: list[list[float]] = []
    for start, end in sorted(recognition.speech):
        if regions and start - regions[-1][1] <= max_gap_s:
            regions[-1][1] = max(regions[-1][1], end)
        else:
            regions.append([start, end])
    # Joined regions are sorted and more than `max_gap_s` apart, so only the last one starting
    # before a word can hold it: found by bisection, as long calls have thousands of both.
    opens = [s - 0.3 for s, _ in regions]
    trimmed: list[list[float]] = []
    for w in recognition.words:  # words the VAD trimmed still belong to a turn
        k = bisect_right(opens, w.start) - 1
        if k >= 0 and w.start <= regions[k][1] + 0.3:
            continue
        if not any(s - 0.3 <= w.start <= e + 0.3 for s, e in trimmed):
            trimmed.append([w.start, w.end])
    regions = sorted(regions + trimmed)
    order = sorted(range(len(recognition.words)), key=lambda i: _middle(recognition.words[i]))
    middles = [_middle(recognition.words[i]) for i in order]
    out = []
    for s, e in regions:
        inside = order[bisect_left(middles, s - 0.3) : bisect_right(middles, e + 0.3)]
        out.append(Turn(s, e, tuple(recognition.words[i] for i in sorted(inside))))
    return out


def _middle(word: Word) -> float:
    return (word.start + word.end) / 2


@dataclass(frozen=True)
class Request:
    """An identifier the agent asked for, and where the question was."""

    entity_type: str
    turn: Turn
    heard: bool = True  # False: no request was recognised, the turn is only in a request's place


class DialogueRules:
    """Question cues per language, and the lead-in words an answer may start with."""

    questions: ClassVar[tuple[tuple[str, re.Pattern[str]], ...]]
    lead_in: ClassVar[frozenset[str]]
    closing: ClassVar[frozenset[str]]
    greeting: ClassVar[frozenset[str]]
    # Words of a request, matched by sound because the agent's question may be misheard too.
    keywords: ClassVar[tuple[tuple[str, str], ...]] = ()
    # The agent's opening turn introduces the agent: only an explicit question counts there.
    opening_question: ClassVar[re.Pattern[str]]
    # Mean word confidence above which an agent turn without a request cue was heard well.
    clear: ClassVar[float] = 0.65
    stems: ClassVar[tuple[tuple[str, str], ...]] = ()
    # Words after which, set off by a comma, the other party is often addressed by name
    # ("tack, Henrik", "ha en fin dag, Kent"); and the agent's confirmation of a read-back.
    vocative: ClassVar[frozenset[str]] = frozenset()
    confirm: ClassVar[frozenset[str]] = frozenset()


class SwedishDialogue(DialogueRules):
    """Swedish: "vad heter du", "ditt personnummer", "telefonnummer", "e-post", "adress"."""

    questions = (
        (
            "PERSON",
            re.compile(r"heter du|vad heter|(?<!mitt )namn|fullst|vem ?(pr|ta)|vem är det"),
        ),
        ("PERSONNUMMER", re.compile(r"person|pers.{0,2}m+er|födelse|identifiera")),
        ("PHONE", re.compile(r"telefon|mobil|nå dig|ringa dig|nummer|umme|(?<!k)ommer\b")),
        ("EMAIL", re.compile(r"e-?post|mejl|mail|påst")),
        ("ADDRESS", re.compile(r"adr?ess|dres|ttres|leverans|faktur|bor du|postnummer|skicka")),
    )
    lead_in = frozenset(
        [
            "ja",
            "jo",
            "absolut",
            "visst",
            "självklart",
            "det",
            "är",
            "den",
            "jag",
            "heter",
            "mitt",
            "min",
            "mina",
            "namn",
            "nummer",
            "numret",
            "personnummer",
            "telefonnummer",
            "adress",
            "adressen",
            "e-post",
            "mejl",
            "mail",
            "kan",
            "ni",
            "du",
            "nå",
            "ringa",
            "mig",
            "på",
            "och",
            "så",
            "bor",
            "i",
            "hej",
            "okej",
            "ok",
        ]
    )
    closing = frozenset({"tack", "hej", "då", "så", "mycket", "bra", "okej", "perfekt"})
    opening_question = re.compile(r"heter du|vad heter|ditt namn|vem ?(pr|ta)")
    keywords = (
        ("PERSONNUMMER", "personnummer"),
        ("PERSONNUMMER", "födelsedatum"),
        ("PHONE", "telefonnummer"),
        ("PHONE", "nummer"),
        ("PHONE", "mobilnummer"),
        ("EMAIL", "mejladress"),
        ("EMAIL", "epost"),
        ("ADDRESS", "adress"),
        ("ADDRESS", "postadress"),
        ("ADDRESS", "leveransadress"),
        ("ADDRESS", "fakturaadress"),
        ("ADDRESS", "postnummer"),
    )
    stems = (("EMAIL", "post"), ("ADDRESS", "dres"), ("PHONE", "umme"))
    vocative = frozenset(
        [
            "tack",
            "ok",
            "okej",
            "perfekt",
            "toppen",
            "bra",
            "hej",
            "hejsan",
            "dag",
            "samtalet",
            "hjälpen",
            "helg",
            "kväll",
        ]
    )
    confirm = frozenset({"stämmer", "stämde"})
    greeting = frozenset(
        [
            "hej",
            "hallå",
            "god",
            "morgon",
            "dag",
            "eftermiddag",
            "kväll",
            "välkommen",
            "till",
            "kundtjänst",
            "kundservice",
            "och",
            "jag",
            "heter",
            "du",
            "pratar",
            "talar",
            "med",
            "det",
            "är",
            "mitt",
            "namn",
            "hur",
            "kan",
            "hjälpa",
            "vad",
            "göra",
            "för",
            "dig",
            "er",
            # the rest of an opening ("god morgon", "vad gäller saken?", "tack för att du ringt")
            "godmorgon",
            "goddag",
            "godkväll",
            "gäller",
            "saken",
            "ärende",
            "ärendet",
            "fråga",
            "frågan",
            "tack",
            "att",
            "service",
            "support",
        ]
    )


class EnglishDialogue(DialogueRules):
    """English: "your name", "date of birth", "phone number", "email", "address"."""

    questions = (
        ("PERSON", re.compile(r"your name|who am i speaking|who's calling|full name")),
        ("PERSONNUMMER", re.compile(r"date of birth|social security|national id|account number")),
        ("PHONE", re.compile(r"phone|number|reach you|call you")),
        ("EMAIL", re.compile(r"e-?mail")),
        ("ADDRESS", re.compile(r"address|postcode|zip|where do you live")),
    )
    lead_in = frozenset(
        [
            "yes",
            "yeah",
            "sure",
            "of",
            "course",
            "it's",
            "it",
            "is",
            "its",
            "my",
            "name",
            "is",
            "number",
            "address",
            "email",
            "i",
            "am",
            "i'm",
            "and",
            "so",
            "um",
            "uh",
            "ok",
            "okay",
        ]
    )
    closing = frozenset({"thanks", "thank", "you", "bye"})
    vocative = frozenset(
        ["thanks", "you", "ok", "okay", "great", "perfect", "hi", "hello", "bye", "day"]
    )
    confirm = frozenset({"correct", "confirm"})
    opening_question = re.compile(r"your name|who am i speaking|who's calling")
    greeting = frozenset(
        [
            "hello",
            "hi",
            "good",
            "morning",
            "afternoon",
            "evening",
            "welcome",
            "to",
            "customer",
            "service",
            "support",
            "thank",
            "you",
            "for",
            "calling",
            "my",
            "name",
            "is",
            "this",
            "you're",
            "speaking",
            "with",
            "how",
            "can",
            "i",
            "help",
            "may",
        ]
    )


RULES: dict[str, type[DialogueRules]] = {"sv": SwedishDialogue, "en": EnglishDialogue}


def rules_for(language: str) -> type[DialogueRules]:
    """The dialogue rules for a language tag ("sv", "sv-SE"); Swedish when there are none."""
    return RULES.get(language.split("-")[0], SwedishDialogue)


def _names_among(found: Sequence[TimeSpan], channel: int, words: Sequence[Word]) -> bool:
    """Whether a PERSON span already found on the channel overlaps any of these words."""
    return any(
        s.channel == channel
        and s.entity_type == "PERSON"
        and any(w.start < s.end and w.end > s.start for w in words)
        for s in found
    )


def requests(agent_turns: Sequence[Turn], rules: type[DialogueRules]) -> list[Request]:
    """Agent turns that ask for an identifier, by phrase, by a word that sounds like a request
    word, or by a question mark followed by an answer the recogniser was unsure of."""
    found = []
    for i, turn in enumerate(agent_turns):
        if i == 0 and turn.words:
            if rules.opening_question.search(turn.text):
                found.append(Request("PERSON", turn))
            continue
        kind = _requested(turn, rules)
        if kind is None and _clearly_heard(turn, rules.clear):
            continue  # heard well and asks for nothing: a statement, not a misheard request
        found.append(Request(kind or "ANSWER", turn, heard=kind is not None))
    return found


def _clearly_heard(turn: Turn, clear: float) -> bool:
    return bool(turn.words) and sum(w.probability for w in turn.words) / len(turn.words) >= clear


def _requested(turn: Turn, rules: type[DialogueRules]) -> str | None:
    if not turn.words and turn.end - turn.start >= 0.8:
        return "ANSWER"  # the agent said something nobody could hear: it may have been a request
    text = turn.text
    for entity_type, pattern in rules.questions:
        if pattern.search(text):
            return entity_type
    for w in turn.words:
        kind = _requested_word(normalise(w.text), rules)
        if kind is not None:
            return kind
    return None


def _requested_word(word: str, rules: type[DialogueRules]) -> str | None:
    """The kind of identifier a word names, if it sounds like a request word ("telefonummet")."""
    norm = word.replace("-", "")
    if len(norm) < 4:
        return None
    for entity_type, keyword in rules.keywords:
        if similarity(norm, keyword) >= 0.78:
            return entity_type
    for entity_type, stem in rules.stems:
        if stem in norm:
            return entity_type
    return None


def answer_spans(
    agent: Recognition,
    customer: Recognition,
    *,
    customer_channel: int,
    language: str,
    max_answer_s: float = 10.0,
    trust: float = 0.45,  # a lead-in word heard this surely stays audible
    sure: float = 0.7,
) -> list[TimeSpan]:
    """The customer's answer to each request, whatever the recogniser made of it.

    The answer is the customer's speech after the question and before the agent speaks again
    (capped). Leading lead-in words heard with confidence ("ja, det är …") stay audible;
    everything from the first other word to the end of the answer is masked, including speech
    the recogniser did not turn into words at all (fail closed).

    Mid-call agent turns in which no request was recognised are treated as possible requests
    too, because a misheard question looks like anything: their answers keep every word the
    model was sure of at either edge, and the unsure middle is masked.
    """
    rules = rules_for(language)
    agent_turns = turns(agent)
    customer_turns = turns(customer)
    spans = []
    for req in requests(agent_turns, rules):
        later_agent = [t.start for t in agent_turns if t.start > req.turn.end + 0.2]
        if not later_agent:
            continue  # the call ends: what follows is a goodbye, not an answer
        limit = min(later_agent[0], req.turn.end + max_answer_s)
        for turn in customer_turns:
            if turn.end <= req.turn.start + 0.5 or turn.start >= limit:
                continue
            start, end = max(turn.start, req.turn.start), min(turn.end, limit)
            if req.heard:
                start = _after_lead_in(turn, start, rules, trust)
                end = _before_closing(turn, end, rules, trust)
                pieces = [(start, end)]
            else:
                pieces = _unsure_stretches(turn, start, end, sure)
            spans += [
                TimeSpan(customer_channel, a, b, req.entity_type, 0.7, "dialogue")
                for a, b in pieces
                if b > a
            ]
    return spans


# Digits and Swedish number words (also misheard tens, "femti"): never "ordinary words".
SPOKEN_NUMBER = re.compile(
    r"\d|^(noll|ett|en|två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv|hundra|tusen)$"
    r"|(ton|tio|tie|ti)$"
)


def _unsure_stretches(
    turn: Turn, start: float, end: float, sure: float, run: int = 3
) -> list[tuple[float, float]]:
    """The unsure middle of an answer, split where the customer said several words in a row that
    the model was sure of and that are neither numbers nor capitalised (an ordinary sentence
    going on, not an identifier the model failed on)."""
    start, end = _unsure_middle(turn, start, end, sure)
    if end <= start:
        return []
    inside = [w for w in turn.words if w.end > start and w.start < end]
    plain = [_plain(w, sure) for w in inside]
    pieces: list[tuple[float, float]] = []
    piece_start = start
    i = 0
    while i < len(inside):
        if not plain[i]:
            i += 1
            continue
        j = i
        while j < len(inside) and plain[j]:
            j += 1
        sentence = any(len(normalise(w.text)) >= 4 for w in inside[i:j])  # not "nu nu du"
        if j - i >= run and sentence and i > 0 and j < len(inside):
            pieces.append((piece_start, inside[i - 1].end))
            piece_start = inside[j].start
        i = j
    pieces.append((piece_start, end))
    return pieces


def _plain(word: Word, sure: float) -> bool:
    """A word heard with confidence that is neither a number nor capitalised: ordinary speech."""
    return (
        word.probability >= sure
        and not SPOKEN_NUMBER.search(normalise(word.text))
        and not word.text.strip()[:1].isupper()
    )


def _unsure_middle(turn: Turn, start: float, end: float, sure: float) -> tuple[float, float]:
    """From the first to the last word that was not heard with confidence or is a number."""
    inside = [w for w in turn.words if w.end > start and w.start < end]
    unsure = [w for w in inside if w.probability < sure or SPOKEN_NUMBER.search(normalise(w.text))]
    if inside and not unsure:
        return start, start  # every word heard with confidence: nothing to hide
    if unsure:
        first, last = inside.index(unsure[0]), inside.index(unsure[-1])
        if first > 0:
            start = max(start, inside[first - 1].end)
        if last < len(inside) - 1:
            end = min(end, inside[last + 1].start)
    return start, end


def _after_lead_in(turn: Turn, start: float, rules: type[DialogueRules], trust: float) -> float:
    for w in turn.words:
        if w.end <= start:
            continue
        if normalise(w.text) in rules.lead_in and w.probability >= trust:
            start = max(start, w.end)
            continue
        break
    return start


def _before_closing(turn: Turn, end: float, rules: type[DialogueRules], trust: float) -> float:
    for w in reversed(turn.words):
        if w.start >= end:
            continue
        if normalise(w.text) in rules.closing and w.probability >= trust:
            end = min(end, w.start)
            continue
        break
    return end


def introduction_spans(
    agent: Recognition,
    *,
    agent_channel: int,
    language: str,
    found: Sequence[TimeSpan],
    within_s: float = 10.0,
    trust: float = 0.7,
    organisation: Sequence[str] = (),
) -> list[TimeSpan]:
    """The agent says their name in the opening turn; if no name was found there, fail closed.

    Every word of that turn that is neither a greeting word heard with confidence nor
    confidently recognised is masked: the name is most likely among the words the model
    could not make sense of.
    """
    rules = rules_for(language)
    opening = next((t for t in turns(agent) if t.start <= within_s and t.words), None)
    if opening is None:
        return []
    # A name "found" only in words the model barely believed (a prompt echo) does not count.
    believed = [w for w in opening.words if w.probability >= 0.2]
    if _names_among(found, agent_channel, believed):
        return []
    greeting = rules.greeting | {normalise(p) for o in organisation for p in o.split()}
    return [
        TimeSpan(agent_channel, w.start, w.end, "PERSON", 0.6, "introduction")
        for w in opening.words
        if w.probability < trust and not _sounds_like_greeting(normalise(w.text), greeting)
    ]


# A caller introducing themself: the words after these are their name, however misheard.
SELF_INTRODUCTION = {
    "sv": (
        ("jag", "heter"),
        ("jag", "är"),
        ("mitt", "namn"),
        ("namnet", "är"),
        ("heter",),
        ("det", "är"),
    ),
    "en": (("my", "name"), ("i", "am"), ("i'm",), ("this", "is")),
}
# Words between a cue and the name ("mitt namn är …", "jag heter ju …").
AFTER_CUE = frozenset({"är", "heter", "ju", "alltså", "is"})


def caller_introduction_spans(
    customer: Recognition,
    *,
    customer_channel: int,
    language: str,
    found: Sequence[TimeSpan] = (),
    within_s: float = 15.0,
    trust: float = 0.7,
    name_s: float = 1.5,
) -> list[TimeSpan]:
    """The caller's opening turn usually says who is calling: after a self-introduction cue
    (heard as itself, by sound, or run together: "Mittarm är …"), the words the model was unsure
    of in the time a full name takes are masked, up to the first word it was sure of. A name it
    was sure of is the detectors' to find; this is for the name it could not make out, or the
    surname after a first name it did (fail closed). Cues after a name already found in the
    turn are the call going on ("… jag är kund sedan länge")."""
    cues = SELF_INTRODUCTION.get(language.split("-")[0], SELF_INTRODUCTION["sv"])
    opening = next((t for t in turns(customer) if t.start <= within_s and t.words), None)
    if opening is None:
        return []
    words = opening.words
    named = [
        s.end
        for s in found
        if s.channel == customer_channel
        and s.entity_type == "PERSON"
        and opening.start <= s.start < opening.end
    ]
    for i in range(len(words)):
        if named and words[i].start >= min(named):
            break  # the caller has already said a name: a later "jag är …" goes on with the call
        for cue in cues:
            taken = _cue_at(words, i, cue)
            if taken:
                unsure = _unsure_after(words, i + taken, name_s, trust, AFTER_CUE, most=5)
                if unsure:
                    said = [normalise(w.text) for w in words[i : i + taken]]
                    if said != list(cue):  # a misheard cue may be the name's start, misplaced
                        unsure = [w for w in words[i : i + taken] if w.probability < trust] + unsure
                    return [_span(customer_channel, unsure, "caller_introduction")]
    return []


# Relations after which the next words name a third person ("min sambo Pia", "min son Filip").
RELATIONS = {
    "sv": (
        frozenset({"min", "mina"}),
        frozenset(
            [
                "mamma",
                "pappa",
                "mor",
                "far",
                "fru",
                "man",
                "make",
                "maka",
                "sambo",
                "son",
                "dotter",
                "bror",
                "syster",
                "kollega",
                "chef",
                "granne",
                "vän",
                "kompis",
                "pojkvän",
                "flickvän",
                "partner",
                "mormor",
                "morfar",
                "farmor",
                "farfar",
            ]
        ),
    ),
    "en": (
        frozenset({"my"}),
        frozenset(
            [
                "mother",
                "mum",
                "mom",
                "father",
                "dad",
                "wife",
                "husband",
                "partner",
                "son",
                "daughter",
                "brother",
                "sister",
                "colleague",
                "boss",
                "neighbour",
                "neighbor",
                "friend",
                "boyfriend",
                "girlfriend",
            ]
        ),
    ),
}


def relation_spans(
    recognition: Recognition,
    *,
    channel: int,
    language: str,
    trust: float = 0.7,
    name_s: float = 1.2,
) -> list[TimeSpan]:
    """A third person is named right after the relation ("min sambo Pia Kowalski"): the words
    the model was unsure of there are masked, with the relation word matched by sound, because
    it is misheard too ("min sorg filipp")."""
    possessive, relations = RELATIONS.get(language.split("-")[0], RELATIONS["sv"])
    words = recognition.words
    spans = []
    for i in range(len(words) - 1):
        norm = normalise(words[i].text)
        if _ends_in_relation(norm, possessive, relations):  # "vorminsambo": run together
            k = i + 1
        elif norm in possessive and not _ends_clause(words[i]):
            if not _sounds_like_relation(normalise(words[i + 1].text), relations):
                continue
            k = i + 2
        else:
            continue
        unsure = _unsure_after(words, k, name_s, trust, AFTER_CUE)
        if unsure:
            spans.append(_span(channel, unsure, "relation"))
    return spans


def _ends_in_relation(word: str, possessive: frozenset[str], relations: frozenset[str]) -> bool:
    return any(
        word.endswith(p + r) for p in possessive for r in relations if len(r) >= 4 and len(p) >= 2
    )


def _sounds_like_relation(word: str, relations: frozenset[str]) -> bool:
    if word in relations:
        return True
    for rel in relations:
        if len(rel) <= 3:  # "son" heard as "sorg", "man" as "män": same onset, short
            if len(word) <= 5 and word[:1] == rel[:1] and similarity(word, rel) >= 0.5:
                return True
        elif similarity(word, rel) >= 0.75:
            return True
    return False


def _cue_at(words: Sequence[Word], i: int, cue: tuple[str, ...]) -> int:
    """How many heard words from `i` make up the cue: each word as itself or by sound, or the
    whole cue run together into one word. 0 when the cue is not there."""
    heard = [normalise(w.text) for w in words[i : i + len(cue)]]
    if len(heard) == len(cue) and all(
        _sounds_like_cue_word(h, c) for h, c in zip(heard, cue, strict=True)
    ):
        return len(cue)
    joined = "".join(cue)
    if len(cue) > 1 and heard and len(heard[0]) >= 5 and similarity(heard[0], joined) >= 0.75:
        return 1
    return 0


def _sounds_like_cue_word(heard: str, cue: str) -> bool:
    """A cue word as itself or by sound; a short one ("det") only as a short word with its
    onset ("du", "de"), since the commonest cues are the most often misheard."""
    if heard == cue:
        return True
    if len(cue) <= 3:
        return len(heard) <= 3 and heard[:1] == cue[:1] and similarity(heard, cue) >= 0.4
    return similarity(heard, cue) >= 0.75


def _unsure_after(
    words: Sequence[Word],
    k: int,
    within_s: float,
    trust: float,
    skip: frozenset[str],
    most: int = 3,
) -> list[Word]:
    """The words from index `k` that the model was unsure of, up to the first it was sure of or
    the end of the clause, at most `most`, within `within_s` of where word `k` would start (words
    in `skip` are passed over first): a name, however it was misheard."""
    while k < len(words) and normalise(words[k].text) in skip:
        k += 1
    if k >= len(words):
        return []
    limit = words[k - 1].end + within_s if k > 0 else words[k].start + within_s
    unsure: list[Word] = []
    for w in words[k : k + most]:
        if w.start >= limit or w.probability >= trust:
            break
        unsure.append(w)
        if _ends_clause(w):
            break
    return unsure


def _span(channel: int, words: Sequence[Word], source: str, slack_s: float = 0.15) -> TimeSpan:
    """A name guessed from misheard words: their times are as unsure as the words, so the span
    reaches `slack_s` further each way than they do (decision padding comes on top)."""
    start = max(0.0, words[0].start - slack_s)
    return TimeSpan(channel, start, words[-1].end + slack_s, "PERSON", 0.6, source)


def acknowledgement_spans(
    agent: Recognition,
    customer: Recognition,
    *,
    agent_channel: int,
    language: str,
    found: Sequence[TimeSpan],
    within_s: float = 1.5,
    trust: float = 0.7,
    name_words: int = 2,
) -> list[TimeSpan]:
    """After the caller answers a request, the agent often thanks them by name ("tack,
    Henrik"). Run together with the "tack", such a name rarely comes out as itself, so in the
    agent's next turn the words the model was unsure of right after the acknowledgement (or at
    the turn's start, if none was heard) are masked, unless a name was found there. An
    acknowledgement that ends a sentence ("Tack.") is followed by no name."""
    rules = rules_for(language)
    agent_turns = turns(agent)
    customer_turns = turns(customer)
    spans = []
    for req in requests(agent_turns, rules):
        reply = next((t for t in agent_turns if t.start > req.turn.end + 0.2), None)
        if reply is None or not any(
            req.turn.end - 0.5 < c.start < reply.start for c in customer_turns
        ):
            continue  # no answer between the request and the agent's next turn
        head = [w for w in reply.words if w.start < reply.start + within_s]
        if _names_among(found, agent_channel, head):
            continue
        i = 0
        while i < len(head) and _sounds_like(normalise(head[i].text), rules.closing, 0.75):
            if _ends_sentence(head[i]):
                head = []
                break
            i += 1
        if i == 0:
            continue  # no acknowledgement: the agent goes on with the matter, not the caller
        unsure = []
        for w in head[i : i + name_words]:
            norm = normalise(w.text)
            if w.probability >= trust or norm in rules.lead_in or _requested_word(norm, rules):
                break
            unsure.append(w)
            if _ends_clause(w):
                break
        if unsure:
            spans.append(_span(agent_channel, unsure, "acknowledgement", slack_s=0.0))
    return spans


def vocative_spans(
    recognition: Recognition,
    *,
    channel: int,
    language: str,
    trust: float = 0.7,
    within_s: float = 1.2,
) -> list[TimeSpan]:
    """A name in direct address, set off by commas: "ok, Märta, …", "ha en fin dag, Kent." After
    a thanks or greeting word that ends with a comma, up to two words the model was unsure of
    that close the clause are masked (a name, however misheard)."""
    rules = rules_for(language)
    words = recognition.words
    spans = []
    for i, w in enumerate(words[:-1]):
        if not w.text.endswith(",") or not _sounds_like(normalise(w.text), rules.vocative, 0.75):
            continue
        name = _unsure_after(words, i + 1, within_s, trust, frozenset(), most=2)
        for j, n in enumerate(name):  # "ok, Märta du …": the pronoun starts the sentence
            if j and normalise(n.text) in rules.lead_in:
                name = name[:j]
                break
        last = i + len(name)
        closed = last == len(words) - 1 or normalise(words[last + 1].text) in rules.lead_in
        if not name or not (_ends_clause(name[-1]) or closed):
            continue
        first = normalise(name[0].text)
        if first not in rules.lead_in | rules.closing and not _sounds_like(
            first, rules.vocative, 0.75
        ):
            spans.append(_span(channel, name, "vocative"))
    return spans


def readback_spans(
    agent: Recognition,
    *,
    agent_channel: int,
    language: str,
    sure: float = 0.7,
    min_s: float = 1.5,
) -> list[TimeSpan]:
    """The agent reads an identifier back for the caller to confirm ("stämmer det att ditt
    nummer är …", "… stämmer det?"): the unsure stretches of an agent turn that asks for a
    confirmation are masked, as in an answer."""
    rules = rules_for(language)
    spans = []
    for turn in turns(agent):
        if turn.end - turn.start < min_s or not any(
            _sounds_like(normalise(w.text), rules.confirm, 0.8) for w in turn.words
        ):
            continue
        spans += [
            TimeSpan(agent_channel, a, b, "NUMBER", 0.6, "readback")
            for a, b in _unsure_stretches(turn, turn.start, turn.end, sure)
            if b > a
        ]
    return spans


def _ends_sentence(word: Word) -> bool:
    return word.text.rstrip("\"')]").endswith((".", "?", "!"))


def _ends_clause(word: Word) -> bool:
    return _ends_sentence(word) or word.text.endswith((",", ";", ":"))


def _sounds_like(word: str, words: frozenset[str], threshold: float) -> bool:
    return word in words or any(similarity(word, w) >= threshold for w in words if len(w) >= 3)


def _sounds_like_greeting(word: str, greeting: frozenset[str] | set[str]) -> bool:
    """Greeting words and the company name, misheard or run together ("mälkommen", "arlu"),
    but never a word that is a listed name ("Inger" is not a misheard "ringer")."""
    if word in greeting:
        return True
    if is_listed_name(word):
        return False
    long = [g for g in greeting if len(g) >= 4]
    return any(similarity(word, g) >= 0.65 for g in long) or any(
        len(g) >= 5 and g in word for g in long
    )
