"""Synthetic held-out corpus of Swedish customer-service calls, spoken by espeak-ng.

    python -m benchmarks.synth_corpus --out DIR [--calls 24] [--seed 7] [--telephone] [--prefix ho]

`../shared/corpus/sv-calls-dev` is what the pseudonymisation pipeline is developed against. This
generator writes calls in the same format (CALL.flac, CALL.meta.json, CALL.truth.json) but with
another company (a broadband provider, "Norrnet" by default), other phrasings and dialogue flows,
other voices and speeds, and names that do not occur in sv-calls-dev, so that detection rules can
be checked for generality instead of for fit. The truth files are for the scorer only: a system
under test must never read them. With --telephone the same calls also go to DIR-8k in the
telephone band (8 kHz after a G.711 mu-law round trip). Every person, number and address is
invented; a fixed seed gives the same corpus.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000
AGENT, CUSTOMER = 0, 1


def words(text: str) -> list[str]:
    return text.split()


FEMALE = words(
    """Anna Maria Lena Kerstin Ingrid Marie Hanna Linnea Elin Julia Maja Alva Alice Wilma
Elsa Signe Majken Greta Ingegerd Birgitta Gunilla Ulla Margareta Britt Siv Agneta Monica Camilla
Therese Josefin Matilda Tove Moa Felicia Nora Stina Sigrid Tyra Vera Elvira Selma Edith Märta
Ronja Liv Tuva Filippa Amanda Rebecka Lovisa Ellinor Helena Åsa Ylva Pia Lisbeth Solveig Ragnhild
Gudrun Inga Dagny Fatima Amira Leila Aisha Yasmin Mariam Zeynep Linh Ewa Katarzyna Nadia Noor
Dalia Hedvig Cecilia Louise Mikaela Sanna"""
)
MALE = words(
    """Erik Johan Mikael Jan Hans Gunnar Lennart Göran Leif Kent Ulf Stig Bertil Rolf Ture Vidar
Sixten Holger Algot Helge Birger Gösta Einar Arvid Torsten Östen Åke Ragnar Viggo Edvin Melker
Hampus Linus Viktor Oskar Emil Hugo Albin Isak Elias Liam Noah Ludvig Filip Gustav Sebastian
Jesper Rasmus Tobias Kristoffer Niklas Joakim Pontus Mattias Jonas Robin Simon Mohammed Ali Yusuf
Ahmed Omar Hassan Mustafa Ibrahim Tomasz Piotr Dragan Minh Kenan Arash Reza Ivar Tor Sune Valter
Alvar Harald Roger Patrik Magnus"""
)
SURNAMES = words(
    """Nordqvist Kvist Åström Ekholm Hägg Lindgren Holm Bergqvist Sjöberg Lundgren Hedlund
Öberg Wallin Nyberg Strand Björklund Nordin Sundberg Sundström Lindholm Holmgren Forslund Hedberg
Fält Lindell Ahlberg Blom Dahl Falk Ek Eriksson Olsson Karlsson Håkansson Bengtsson Lindström
Lundberg Isaksson Söderberg Östlund Nyström Löfgren Boström Hellström Sandström Norberg Sjögren
Ström Lundmark Marklund Burman Vesterlund Renström Granlund Näslund Lidström Backman Berggren
Åberg Hermansson Abrahamsson Claesson Dahlberg Ekström Fors Grahn Haglund Hjalmarsson Ivarsson
Jansson Kjellberg Lilja Moberg Nordlund Palm Rydberg Tornberg Wiklund Zetterberg Åkesson Öhman
Nguyen Kowalski Hussein Ahmadi Yilmaz Hodzic Mohammadi Tran Novak Rahimi Karimi Nowak Popovic
Haddad Abdi Warsame Jovanovic Sallinen Rantala Lindahl Brännström Vikström"""
)
STREET_STEMS = words(
    """Björk Gran Ek Asp Lönn Rönn Hassel Strand Skogs Berg Kvarn Smedje Skol Stations
Hamn Mejeri Tegel Lin Råg Havre Klöver Blåbärs Lingon Hjortron Älg Räv Hök Tjäder Mås Myr Malm
Fisk Sill Bruks Såg Mo Ås Fjäll Älv Forsa Kaptens Lots Post Ny Väster Öster Slottsskogs"""
)
STREET_ENDS = words("gatan vägen vägen gatan gränd stigen backen")
CITIES = words(
    """Umeå:903 Luleå:972 Sundsvall:853 Östersund:831 Kiruna:981 Skellefteå:931 Piteå:941
Härnösand:871 Örnsköldsvik:891 Sollefteå:881 Hudiksvall:824 Falun:791 Mora:792 Karlstad:652
Västerås:722 Eskilstuna:632 Norrköping:602 Växjö:352 Kalmar:392 Visby:621 Halmstad:302
Borås:503 Skövde:541 Motala:591 Nyköping:611 Ystad:271 Kristianstad:291 Trollhättan:461
Uppsala:753 Lycksele:921 Sandviken:811 Solna:171 Nacka:131 Huddinge:141"""
)
DOMAINS = [("gmail.com", "gmail punkt com"), ("hotmail.com", "hotmail punkt com"),
           ("outlook.com", "outlook punkt com"), ("icloud.com", "i cloud punkt com"),
           ("yahoo.se", "yahoo punkt s e"), ("bredband.net", "bredband punkt net"),
           ("spray.se", "spray punkt s e"), ("telia.com", "telia punkt com")]  # fmt: skip
ONES = words(
    """noll ett två tre fyra fem sex sju åtta nio tio elva tolv tretton fjorton femton sexton
sjutton arton nitton"""
)
TENS = words("_ _ tjugo trettio fyrtio femtio sextio sjuttio åttio nittio")
ASCII = str.maketrans("åäöé", "aaoe")


@dataclass(frozen=True)
class Ident:
    """One identifier clip: its type, written form and what is said."""

    type: str
    text: str
    spoken: str


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    female: bool

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}"


def number(n: int) -> str:
    """A number 0-199 the Swedish way: 'sjuttiotre', 'hundratolv'."""
    if n >= 100:
        return "hundra" + (number(n - 100) if n > 100 else "")
    return ONES[n] if n < 20 else TENS[n // 10] + (ONES[n % 10] if n % 10 else "")


def say_digits(rng: random.Random, s: str, style: str = "") -> str:
    """Digits one by one, in pairs ('sjuttiotre', 'noll fem') or a mix of both."""
    style = style or rng.choice(["digits", "pairs", "mixed"])
    chunks = ([s[0]] if len(s) % 2 else []) + [s[i : i + 2] for i in range(len(s) % 2, len(s), 2)]
    said = []
    for c in chunks:
        pair = len(c) == 2 and (style == "pairs" or (style == "mixed" and rng.random() < 0.5))
        said.append(number(int(c)) if pair and c[0] != "0" else " ".join(ONES[int(d)] for d in c))
    return " ".join(said)


def luhn(digits: str) -> int:
    total = 0
    for i, c in enumerate(digits):
        d = int(c) * (2 - i % 2)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def make_person(rng: random.Random, female: bool | None = None) -> Person:
    female = rng.random() < 0.5 if female is None else female
    return Person(rng.choice(FEMALE if female else MALE), rng.choice(SURNAMES), female)


def name_ident(p: Person, full: bool) -> Ident:
    text = p.full if full else p.first
    return Ident("PERSON", text, text)


def personnummer(rng: random.Random) -> tuple[str, str]:
    """(YYMMDD-XXXX with a valid Luhn check digit, century) of an invented personnummer."""
    year, month, day = rng.randint(1938, 2004), rng.randint(1, 12), rng.randint(1, 28)
    date = f"{year % 100:02d}{month:02d}{day:02d}"
    serial = f"{rng.randint(0, 999):03d}"
    return f"{date}-{serial}{luhn(date + serial)}", str(year // 100)


def say_pnr(rng: random.Random, pnr: str, century: str, long: bool) -> Ident:
    date, last4 = pnr.split("-")
    head = (number(int(century)) + " " if long else "") + say_digits(rng, date)
    sep = rng.choice([", ", ", ", " streck "])
    text = f"{century}{pnr}" if long else pnr
    return Ident("PERSONNUMMER", text, head + sep + say_digits(rng, last4))


def phone(rng: random.Random, mobile: bool = True) -> tuple[str, str]:
    """(written, E.164) of a mobile 07X-XXX XX XX or a Stockholm 08-XXX XX XX number."""
    rest = "".join(str(rng.randint(0, 9)) for _ in range(7))
    prefix = "07" + rng.choice("02369") if mobile else "08"
    written = f"{prefix}-{rest[:3]} {rest[3:5]} {rest[5:]}"
    return written, "+46" + prefix[1:] + rest


def say_phone(rng: random.Random, written: str) -> Ident:
    prefix, rest = written.split("-")
    digits = rest.replace(" ", "")
    if rng.random() < 0.3:
        spoken = say_digits(rng, prefix + digits, "digits")
    else:
        a, b = say_digits(rng, digits[:3], "digits"), say_digits(rng, digits[3:])
        spoken = f"{say_digits(rng, prefix, 'digits')}, {a}, {b}"
    return Ident("PHONE", written, spoken)


def email(rng: random.Random, p: Person) -> tuple[str, str]:
    """(written, spoken) of an address: 'signe punkt kvist snabel-a gmail punkt com' and kin."""
    first, last = p.first.lower().translate(ASCII), p.last.lower().translate(ASCII)
    year = f"{rng.randint(50, 99)}"
    domain, said = rng.choice(DOMAINS)
    forms = [(f"{first}.{last}", f"{first} punkt {last}"),
             (f"{first}-{last}", f"{first} bindestreck {last}"),
             (f"{first[0]}.{last}", f"{first[0]} punkt {last}"),
             (f"{first}{last}{year}", f"{first} {last} {say_digits(rng, year)}"),
             (f"{first}{year}", f"{first} {say_digits(rng, year)}")]  # fmt: skip
    local, spoken = rng.choice(forms)
    return f"{local}@{domain}", f"{spoken} snabel-a {said}"


def address(rng: random.Random) -> tuple[str, str, str, str]:
    """(street written, street spoken, postal+city written, postal+city spoken)."""
    street = rng.choice(STREET_STEMS) + rng.choice(STREET_ENDS)
    if rng.random() < 0.15:
        street = rng.choice(["Norra ", "Södra ", "Östra ", "Lilla "]) + street
    elif rng.random() < 0.05:
        street = "Torget"
    num = rng.randint(1, 64)
    letter = rng.choice(["", "", "", "", " B", " A"])
    city, prefix = rng.choice(CITIES).split(":")
    post = f"{prefix} {rng.randint(0, 99):02d}"
    a, b = post.split()
    post_said = say_digits(rng, a, "digits") + rng.choice([", ", " "]) + say_digits(rng, b)
    street_said = f"{street} {number(num)}{letter.lower()}"
    return f"{street} {num}{letter}", street_said, f"{post} {city}", f"{post_said}, {city}"


def fill(template: str, **idents: Ident) -> list[str | Ident]:
    """Split 'Hej, det är {agent} på Norrnet.' into text pieces and identifier clips."""
    pieces = re.split(r"\{(\w+)\}", template)
    return [idents[p] if i % 2 else p for i, p in enumerate(pieces)]


Turn = tuple[int, list["str | Ident"]]

TOPICS = [  # opening line, identifiers the agent needs, the agent's resolution
    ("Mitt bredband har legat nere sedan i går kväll.", ["ADDRESS", "PHONE"],
     "Det är en störning i ert område, den är åtgärdad i kväll."),
    ("Jag har beställt en ny router, men den har inte kommit än.", ["ORDER", "ADDRESS"],
     "Paketet ligger hos ombudet sedan i måndags."),
    ("Jag ska flytta nästa månad och vill ta med mig bredbandet.", ["PERSONNUMMER", "ADDRESS"],
     "Det går bra, flytten är registrerad."),
    ("Jag har fått en faktura som är dubbelt så hög som vanligt.", ["PERSONNUMMER", "EMAIL"],
     "Du har blivit dubbeldebiterad, jag krediterar det."),
    ("Jag vill säga upp mitt abonnemang.", ["PERSONNUMMER", "EMAIL"],
     "Uppsägningstiden är en månad, bekräftelsen kommer på mejlen."),
    ("Vi jobbar hemifrån båda två. Kan vi få högre hastighet?", ["PERSONNUMMER", "PHONE"],
     "Ni kan få femhundra megabit från nästa vecka."),
    ("TV-boxen hittar inga kanaler sedan uppdateringen i helgen.", ["ORDER", "PHONE"],
     "Jag startar om boxen härifrån, prova igen om en minut."),
    ("Jag skulle få fiber installerat i dag, men ingen tekniker har kommit.", ["ORDER", "ADDRESS"],
     "Teknikern är försenad, han är hos dig inom en timme."),
    ("Wifi:t är jättelångsamt på övervåningen.", ["PHONE", "EMAIL"],
     "Jag skickar en nätverksförstärkare utan kostnad."),
]  # fmt: skip
GREETINGS = ["Välkommen till {org}, du talar med {agent}.",
             "{org} kundservice, {agent} här, vad kan jag göra för dig?",
             "Hej, det är {agent} på {org}.",
             "{org}, god morgon, du pratar med {agent}. Hur kan jag hjälpa dig?",
             "Hej och välkommen till {org} kundtjänst. Mitt namn är {agent}.",
             "Kundservice, {agent} heter jag, vad gäller det?"]  # fmt: skip
INTROS = ["Hej, jag heter {name}.", "Hej, det är {name} som ringer.", "Ja hej, {name} här.",
          "Hej! Mitt namn är {name}.", "Hejsan, {name} heter jag."]  # fmt: skip
ASK_NAME = ["Vem talar jag med?", "Kan jag få ditt namn?", "Vad heter du?",
            "Okej. Och vem pratar jag med?"]  # fmt: skip
LEADS = ["Ja, det är ", "Absolut, ", "Eh, vänta lite, det är ", "", "Javisst. ", "Det är "]
ASK = {
    "PERSONNUMMER": ["Kan jag få ditt personnummer?", "Vilket är ditt personnummer, tolv siffror?",
                     "För att jag ska kunna hjälpa dig behöver jag ditt personnummer.",
                     "Jag behöver ditt födelsedatum och de fyra sista."],
    "PHONE": ["Vilket nummer når vi dig på?", "Vilket telefonnummer kan teknikern ringa på?",
              "Har du ett mobilnummer vi kan nå dig på?"],
    "EMAIL": ["Kan jag få din mejladress?", "Vilken e-postadress vill du ha bekräftelsen till?",
              "Vart ska vi mejla? Vilken mejladress har du?"],
    "ADDRESS": ["Vilken adress gäller det?", "Vad har du för gatuadress?",
                "Och vilken adress bor du på?"],
    "ORDER": ["Har du ordernumret till hands?", "Har du ett ärendenummer från tidigare?"],
}  # fmt: skip
THIRD = [  # (template, is the third person female (None: either), say the full name)
    ("Min fru {p} brukar sköta sånt här.", True, False),
    ("Min man {p} har redan ringt en gång.", False, False),
    ("Abonnemanget står på min sambo, {p}.", None, True),
    ("Jag pratade med {p} hos er förra veckan.", None, False),
    ("Min kollega {p} har exakt samma problem.", None, True),
    ("Min son {p} har kontot, men jag betalar.", False, False),
    ("Min dotter {p} hjälpte mig att koppla in allt.", True, False),
]  # fmt: skip
ADDRESSING = ["Tack {name}!", "Okej {name}, då kollar jag.", "Perfekt, {name}.",
              "Då har jag hittat dig, {name}."]  # fmt: skip
GOODBYES = ["Tack för samtalet, {name}.", "Ha en fin dag, {name}!", "Tack {name}, hej hej."]
CLOSINGS_A = ["Var det något mer jag kan hjälpa till med?", "Tack för att du ringde {org}.",
              "Är det något annat du undrar över?"]  # fmt: skip
CLOSINGS_C = ["Nej, det var allt. Tack så mycket!", "Nej, det var bra så. Hej då!",
              "Nej tack, det var det hela. Hej!", "Toppen, tack för hjälpen."]  # fmt: skip


def script(rng: random.Random, call_id: str, org: str) -> tuple[dict, list[Turn], list[bool]]:
    """A call's metadata, its (channel, parts) turns and whether agent and customer are female."""
    agent, cust = make_person(rng), make_person(rng)
    crm_phone, crm_e164 = phone(rng)
    crm_mail, crm_mail_said = email(rng, cust)
    street, street_said, post, post_said = address(rng)
    kind = rng.random()
    customer: dict | None = {"name": cust.full}
    if kind < 0.66:
        customer |= {"phone": crm_e164, "email": crm_mail, "address": f"{street}, {post}"}
    elif kind > 0.83:
        customer = None
    full_crm = customer is not None and "phone" in customer
    other_phone, other_e164 = phone(rng, mobile=rng.random() < 0.6)
    calls_from_other = not full_crm or rng.random() < 0.3
    meta = {"call_id": call_id, "language": "sv",
            "from": other_e164 if calls_from_other else crm_e164, "to": "+46812345678",
            "agent": {"id": f"agent-{rng.randint(100, 999)}", "name": agent.full},
            "customer": customer}  # fmt: skip
    opening, needs, resolution = rng.choice(TOPICS)
    extra = [t for t in ["PERSONNUMMER", "PHONE", "EMAIL", "ADDRESS"] if t not in needs]
    needs = needs + rng.sample(extra, int(rng.random() < 0.4))
    needs.sort(key=lambda t: t != "PERSONNUMMER")  # verification comes first
    turns: list[Turn] = []

    def say(ch: int, template: str, **idents: Ident) -> None:
        turns.append((ch, fill(template.replace("{org}", org), **idents)))

    def cust_name(full: bool = True) -> Ident:
        return name_ident(cust, full)

    say(AGENT, rng.choice(GREETINGS), agent=name_ident(agent, rng.random() < 0.25))
    if rng.random() < 0.7:
        say(CUSTOMER, rng.choice(INTROS) + " " + opening, name=cust_name())
    else:
        say(CUSTOMER, rng.choice(["Hej. ", "Ja hej, ", ""]) + opening)
        say(AGENT, rng.choice(ASK_NAME))
        if rng.random() < 0.3:
            spelled = Ident("PERSON", cust.last, " ".join(cust.last.lower()))
            say(CUSTOMER, "{name}. Efternamnet stavas {spell}.", name=cust_name(), spell=spelled)
        else:
            say(CUSTOMER, rng.choice(["{name}.", "Ja, det är {name}.", "Jag heter {name}."]),
                name=cust_name())  # fmt: skip
    if rng.random() < 0.7:
        template, female, full = rng.choice(THIRD)
        third = make_person(rng, female)
        say(CUSTOMER, template, p=name_ident(third, full))
        if rng.random() < 0.4:
            note = "Okej, då noterar jag att {p} också är inblandad."
            say(AGENT, note, p=name_ident(third, False))
    said_name = False
    for need in needs:
        question = rng.choice(ASK[need])
        if need == "ADDRESS" and "flytta" in opening:
            question = "Vilken är den nya adressen?"
        elif need == "ADDRESS" and "router" in opening:
            question = "Vilken leveransadress angav du?"
        pre = rng.choice(["", "", "", "Tack. ", "Då ska vi se. ", "Ett ögonblick. "])
        if not said_name and rng.random() < 0.45:  # the agent addresses the caller by name
            pre, said_name = rng.choice(ADDRESSING) + " ", True
        lead = rng.choice(LEADS)

        def ask(template: str, pre: str = pre, **idents: Ident) -> None:
            say(AGENT, pre + template, name=cust_name(False), **idents)

        if need == "PERSONNUMMER":
            pnr, century = personnummer(rng)
            ask(question)
            if "fyra sista" in question:
                date, last4 = pnr.split("-")
                say(CUSTOMER, "Det är {d}, och de fyra sista är {l}.",
                    d=Ident("PERSONNUMMER", date, say_digits(rng, date)),
                    l=Ident("PERSONNUMMER", last4, say_digits(rng, last4)))  # fmt: skip
            else:
                pn = say_pnr(rng, pnr, century, "tolv" in question or rng.random() < 0.4)
                say(CUSTOMER, rng.choice([lead, "Mitt personnummer är "]) + "{pn}.", pn=pn)
                if rng.random() < 0.2:
                    say(AGENT, "Jag upprepar: {pn}. Stämmer det?", pn=pn)
                    say(CUSTOMER, "Ja, det stämmer.")
        elif need == "PHONE" and full_crm and rng.random() < 0.5:
            ask("Stämmer det att ditt mobilnummer är {ph}?", ph=say_phone(rng, crm_phone))
            if rng.random() < 0.35:
                say(CUSTOMER, "Ja, det stämmer.")
            else:
                new = say_phone(rng, other_phone if calls_from_other else phone(rng)[0])
                fix = ["Nej, det är ett gammalt. Nu har jag {ph}.", "Nej, det är {ph} nu."]
                say(CUSTOMER, rng.choice(fix), ph=new)
        elif need == "PHONE":
            ask(question)
            number_ = say_phone(rng, other_phone if calls_from_other else crm_phone)
            if rng.random() < 0.2:
                say(CUSTOMER, "Samma som jag ringer ifrån.")
                say(AGENT, "Då har jag {ph}, stämmer det?", ph=number_)
                say(CUSTOMER, "Ja.")
            else:
                lead = rng.choice([lead, "Mitt nummer är ", "Du kan ringa på "])
                say(CUSTOMER, lead + "{ph}.", ph=number_)
        elif need == "EMAIL":
            written, spoken = (crm_mail, crm_mail_said) if full_crm else email(rng, cust)
            ask(question)
            tail = rng.choice(["", "", " Allt i små bokstäver.", " Ja, så."])
            say(CUSTOMER, lead + "{m}." + tail, m=Ident("EMAIL", written, spoken))
        elif need == "ADDRESS":
            if "flytta" in opening or not full_crm:
                street, street_said, post, post_said = address(rng)
            ask(question)
            if rng.random() < 0.35:
                say(CUSTOMER, lead + "{s}.", s=Ident("ADDRESS", street, street_said))
                say(AGENT, rng.choice(["Och postnummer?", "Och postnummer och ort?"]))
                say(CUSTOMER, "{p}.", p=Ident("ADDRESS", post, post_said))
            else:
                text, spoken = f"{street}, {post}", f"{street_said}, {post_said}"
                say(CUSTOMER, lead + "{a}.", a=Ident("ADDRESS", text, spoken))
        elif need == "ORDER":
            order = str(rng.randint(10**5, 10**8 - 1))
            ask(question)
            say(CUSTOMER, rng.choice(["Ja, vänta, det är {o}.", "Ja, {o}.", "Det är {o}."]),
                o=Ident("ORDER", order, say_digits(rng, order)))  # fmt: skip
    say(AGENT, resolution)
    say(CUSTOMER, rng.choice(["Vad bra.", "Okej, toppen.", "Jaha, okej. Tack.", "Skönt att höra."]))
    if rng.random() < 0.5:
        say(AGENT, rng.choice(CLOSINGS_A))
        say(CUSTOMER, rng.choice(CLOSINGS_C))
    if rng.random() < 0.7:
        say(AGENT, rng.choice(GOODBYES), name=cust_name(rng.random() < 0.2))
    return meta, turns, [agent.female, cust.female]


@dataclass(frozen=True)
class Voice:
    variant: str
    speed: int
    pitch: int

    @staticmethod
    def pick(rng: random.Random, female: bool) -> Voice:
        variant = rng.choice(words("f1 f2 f3 f4 f5" if female else "m1 m2 m3 m4 m6 m7"))
        return Voice(f"sv+{variant}", rng.randint(140, 175), rng.randint(35, 65))

    def speak(self, text: str) -> np.ndarray:
        argv = ["espeak-ng", "-v", self.variant, "-s", str(self.speed), "-p", str(self.pitch)]
        argv += ["--stdout", text]  # our own script text, no shell
        wav = subprocess.run(argv, capture_output=True, check=True).stdout  # noqa: S603
        data, rate = sf.read(io.BytesIO(wav), dtype="float32")
        n = int(round(len(data) * RATE / rate))
        audio = np.interp(np.linspace(0, len(data) - 1, n), np.arange(len(data)), data)
        loud = np.nonzero(np.abs(audio) > 0.01)[0]  # espeak ends every clip with ~0.4 s silence
        end = min(len(audio), loud[-1] + int(0.06 * RATE)) if len(loud) else len(audio)
        return audio[:end].astype(np.float32)


def render(
    rng: random.Random, turns: list[Turn], voices: dict[int, Voice]
) -> tuple[np.ndarray, list[dict]]:
    """Speak every turn; each identifier is its own clip, so its start and end are exact."""
    clips: list[tuple[int, int, np.ndarray]] = []
    spans: list[dict] = []
    pos = int(0.5 * RATE)
    for n, (ch, parts) in enumerate(turns):
        if n:
            pos += int(rng.uniform(0.3, 1.0) * RATE)
        first = True
        for part in parts:
            text = part.spoken if isinstance(part, Ident) else part.strip()
            if not re.search(r"\w", text):
                continue
            if not first:
                pos += int(0.05 * RATE)
            first = False
            audio = voices[ch].speak(text) * 0.8
            if isinstance(part, Ident):
                rms = float(np.sqrt(np.mean(audio**2)))
                if rms < 0.01:
                    raise RuntimeError(f"espeak-ng gave a silent identifier clip: {part}")
                spans.append({"type": part.type, "text": part.text, "spoken": part.spoken,
                              "channel": ch, "start": round(pos / RATE, 3),
                              "end": round((pos + len(audio)) / RATE, 3)})  # fmt: skip
            clips.append((ch, pos, audio))
            pos += len(audio)
    call = np.zeros((pos + int(0.5 * RATE), 2), dtype=np.float32)
    for ch, start, audio in clips:
        call[start : start + len(audio), ch] += audio
    return np.clip(call, -1.0, 1.0), spans


def mulaw_encode(pcm: np.ndarray) -> np.ndarray:
    """G.711 mu-law: 16-bit linear samples to 8-bit codes."""
    x = pcm.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    mag = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(mag)).astype(np.int32) - 7, 0, 7)
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def mulaw_decode(code: np.ndarray) -> np.ndarray:
    u = ~code.astype(np.int32) & 0xFF
    exponent, mantissa = (u >> 4) & 0x07, u & 0x0F
    mag = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(u & 0x80, -mag, mag).astype(np.int16)


def telephone(call: np.ndarray) -> np.ndarray:
    """16 kHz float stereo -> 8 kHz after a low-pass and a mu-law encode/decode round trip."""
    out = []
    for ch in range(call.shape[1]):
        spec = np.fft.rfft(call[:, ch].astype(np.float64))
        spec[np.fft.rfftfreq(len(call), 1.0 / RATE) > 3700] = 0
        narrow = np.fft.irfft(spec, n=len(call))[::2]
        pcm = np.clip(np.round(narrow * 32767), -32768, 32767).astype(np.int16)
        out.append(mulaw_decode(mulaw_encode(pcm)).astype(np.float32) / 32768)
    return np.stack(out, axis=1)


def write_call(
    out: Path, call_id: str, meta: dict, audio: np.ndarray, rate: int, spans: list[dict]
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    sf.write(out / f"{call_id}.flac", audio, rate, format="FLAC", subtype="PCM_16")
    truth = {"call_id": call_id, "sample_rate": rate, "duration": round(len(audio) / rate, 3),
             "channels": {"0": "agent", "1": "customer"}, "spans": spans}  # fmt: skip
    for name, doc in (("meta", meta), ("truth", truth)):
        text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
        (out / f"{call_id}.{name}.json").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--calls", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--prefix", default="ho")
    ap.add_argument("--org", default="Norrnet")
    ap.add_argument("--telephone", action="store_true", help="also write OUT-8k (G.711 mu-law)")
    args = ap.parse_args(argv)
    narrow_dir = args.out.with_name(args.out.name + "-8k")
    for i in range(args.calls):
        rng = random.Random(args.seed * 100_003 + i)  # noqa: S311 (synthetic data, not secrets)
        call_id = f"{args.prefix}-{i:03d}"
        for _ in range(6):  # draw again (deterministically) while the call runs past a minute
            meta, turns, female = script(rng, call_id, args.org)
            voices = {ch: Voice.pick(rng, female[ch]) for ch in (AGENT, CUSTOMER)}
            audio, spans = render(rng, turns, voices)
            if len(audio) <= 60 * RATE:
                break
        write_call(args.out, call_id, meta, audio, RATE, spans)
        if args.telephone:
            write_call(narrow_dir, call_id, meta, telephone(audio), RATE // 2, spans)
        kinds = " ".join(s["type"] for s in spans)
        print(
            f"{call_id}: {len(audio) / RATE:5.1f} s, {len(spans)} spans ({kinds})", file=sys.stderr
        )


if __name__ == "__main__":
    main()
