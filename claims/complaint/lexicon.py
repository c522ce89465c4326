"""Lexical signals for the complaint reader: explicit phrases, negation, tone markers.

Everything here is plain `re` and works on the original text, so every evidence phrase is a real slice of what
the customer wrote (the review tab highlights it). The learned heads see these signals as features; the few
rules that are reliable on their own (an explicit request for a person, an explicit "refund") also decide
directly in `claims.complaint`.

This module is long because it holds one set of patterns per signal, kept together so each pattern sits
next to its negation rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

_F = re.IGNORECASE

# Words that, shortly before a phrase in the same clause, turn it around ("no need for a refund").
_NEGATORS = re.compile(
    r"\b(?:no|not|never|without|nor|don'?t|do not|doesn'?t|does not|didn'?t|won'?t|wouldn'?t|isn'?t|aren'?t|"
    r"wasn'?t|no need|rather than|instead of|other than|neither|dont|cant|can'?t|cannot|hate to|"
    r"instead|nah|nope)\b",
    _F,
)
_CLAUSE_BREAK = re.compile(r"[.!?;,:\n]|\b(?:but|however|though|although|so|and then)\b", _F)


def _negated(text: str, start: int, window: int = 40) -> bool:
    """True when a negator sits in the same clause within `window` characters before `start`."""
    before = text[max(0, start - window) : start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end() :]
    return bool(_NEGATORS.search(before))


# --- request for a person ----------------------------------------------------------------------
_PERSON = (
    r"(?:(?:a|an|the|some|any|your|one of your|real|actual|live|proper|human|customer service|customer care|"
    r"support|real live|flesh and blood|living|breathing)\s+)*"
    r"(?:human(?:\s+being)?s?|person|people|agent|representative|rep|manager|supervisor|someone|somebody|"
    r"anyone|anybody|operator|staff|employee|associate|advisor|adviser|specialist|team member|"
    r"customer service|customer care|support team|your boss)"
)
_HUMAN_PATTERNS = [
    rf"\b(?:talk|speak|chat|get through|be connected|get connected|connect me|transfer me|put me through|"
    rf"escalate (?:this|it|me)|pass me|hand me over|reach|contact|put me on|put me in touch|get me in touch)\s+(?:to|with|through to)?\s*{_PERSON}\b",
    rf"\b(?:want|need|get me|give me|let me have|bring me|i'?d like|i would like|requesting|request|"
    rf"demand|ask for|asking for|can i have|can i get|could i get|may i speak to)\s+(?:to\s+(?:talk|speak)\s+(?:to|with)\s+)?"
    rf"{_PERSON}\b",
    r"\b(?:real|actual|live|human|proper)\s+(?:human|person|agent|people|being|operator|representative|rep)\b",
    r"\b(?:someone|somebody|anyone|anybody)\s+(?:real|human|alive|competent|who can help)\b",
    r"\b(?:call|phone|ring)\s+me\b",
    r"\b(?:call|phone|ring)\s+(?:your\s+)?(?:customer (?:service|support|care)|support|an? agent|a person|a human|"
    r"someone|somebody|a representative|a manager)\b",
    r"\bgive (?:me|her|him|us|my \w+) a (?:call|ring|phone call)\b",
    r"\b(?:call|phone|ring) (?:her|him|us|my (?:mum|mom|dad|wife|husband))\b",
    r"\b(?:call|phone|ring) me back\b",
    r"\bcall[- ]?backs?\b",
    r"\b(?:by|over the|on the|via) (?:phone|telephone)\b",
    r"\b(?:phone|telephone) (?:call|number)\b",
    r"\bnumber (?:i can|to) call\b",
    r"\b(?:transfer|connect|escalate|forward)\s+(?:me|this|my (?:case|claim|complaint|chat))\b",
    r"\bescalat(?:e|ion)\b",
    r"\b(?:stop|enough|no more|done with|sick of|tired of)\s+(?:the |this |your |talking to (?:a |the |this )?)?(?:bot|robot|machine|automated|chatbot|ai)s?\b",
    r"\b(?:not|don'?t want|dont want)\s+(?:to talk to\s+)?(?:a |the |this |your |an? )?(?:bot|robot|machine|chatbot|ai|automated (?:system|reply|response))\b",
    r"\bare you (?:a |an )?(?:bot|robot|real|human|machine|ai)\b",
    r"\bis (?:there|anyone|anybody) (?:anyone|anybody|a human|a person|someone|real)\b",
    r"^\W*(?:human|agent|representative|rep|operator|person|manager|supervisor|live agent|live chat|"
    r"customer service|real person|talk to human|speak to human)(?:\s+(?:please|pls|plz|now|asap))*\W*$",
    r"\b(?:human|agent|representative|operator|manager|supervisor)\s*(?:please|pls|plz|now|asap|!!)",
    r"\b(?:please|pls|plz)\s+(?:a |an )?(?:human|agent|representative|operator|real person)\b",
]
_HUMAN_RE = [re.compile(p, _F) for p in _HUMAN_PATTERNS]

# "I don't want to talk to a machine" is a request for a person even though it is negated.
_NOT_A_BOT = re.compile(r"\b(?:bot|robot|machine|chatbot|ai|automated)s?\b", _F)

# A person mentioned without being asked for: "no need to call me", "the agent was rude".
_HUMAN_NEGATIONS = re.compile(
    r"\b(?:no need to|don'?t need to|do not need to|don'?t have to|dont need to|no need for|don'?t want to|"
    r"do not want to|rather not|without (?:having to|needing to)?\s*|not necessary to|needn'?t|won'?t need to|"
    r"don'?t|do not|please don'?t|pls dont|no)\s*"
    r"(?:\w+\s+){0,3}?(?:call|phone|ring|talk|speak|escalate|contact|chat|human|person|agent|manager|anyone)\b"
    r"|\b(?:said|promised|told me|supposed to|was going to|were going to|never)\s+(?:\w+\s+){0,3}?"
    r"(?:call|phone|ring|contact)\b",
    _F,
)


# --- requested resolution ----------------------------------------------------------------------
_REFUND_RE = re.compile(
    r"\b(?:refund(?:ed|s|ing)?|my money back|money back|my money|reimburse(?:d|ment)?|charge ?back|pay me back|"
    r"full credit|credit (?:my|the|it back to my) (?:card|account)|cash back|give me back my|"
    r"return (?:it )?for (?:a|my) (?:full )?refund|compensat(?:e|ion|ed)|rembourse\w*|refound|refun|"
    r"reembolso|the money)\b",
    _F,
)
_REPLACEMENT_RE = re.compile(
    r"\b(?:replace(?:d|ment|ments)?|replacment|replacemnt|new one|another one|new (?:unit|item|copy|set|pair)|"
    r"send (?:me )?(?:another|a new|a fresh|a working|one that)|"
    r"(?:re-?send|re-?ship|reship)\w*|ship (?:me )?(?:another|a new)|exchange(?:d)?|swap(?:ped)?|"
    r"one that works|working one|fresh one|intact one|undamaged one|a second one|again with a new)\b",
    _F,
)


# --- tone --------------------------------------------------------------------------------------
_ANGER_RE = re.compile(
    r"\b(?:ridiculous|unacceptable|outrageous|disgust(?:ed|ing)|furious|livid|angry|mad|pissed(?: off)?|"
    r"annoy(?:ed|ing)|irritat(?:ed|ing)|frustrat(?:ed|ing)|fed up|sick (?:and tired )?of|tired of|"
    r"fuming|infuriat\w*|enraged|appalled|appalling|shocking|disgrace\w*|shame(?:ful)?|pathetic|"
    r"useless|incompetent|incompetence|joke|clowns?|scam(?:mers|med)?|fraud|rip ?off|ripped off|"
    r"worst|terrible|horrible|horrendous|awful|atrocious|trash|garbage|rubbish|crap|crappy|shit\w*|"
    r"wtf|wth|omfg|ffs|smh|fml|bs|bullshit|damn|dammit|hell|screw (?:you|this)|f+u+c+k+\w*|"
    r"seriously|unbelievable|beyond|never again|last time|never (?:ever )?(?:buy|order|fly|use|shop)\w*|"
    r"done with|lost (?:a )?customer|fix (?:this|it) now|how (?:hard|difficult) (?:is it|can it be)|"
    r"what a (?:joke|mess|nightmare|disaster)|nightmare|fiasco|disaster|insult\w*|"
    r"fed up|had enough|enough is enough|are you kidding|kidding me|you'?re kidding|"
    r"hours? on hold|on hold for|still (?:waiting|nothing|no)|again\?|again!|yet again|third time|"
    r"3rd time|(?:second|2nd) time|for (?:weeks|days|hours|months)|no one (?:cares|answers|responds)|"
    r"nobody (?:cares|answers|responds|helps)|ignored|ignoring|gave up|give up|waste of (?:time|money)|"
    r"wasted|lied|lying|liars?|rude|hopeless|upset|distraught|devastated|heartbroken|stressed|"
    r"gutted|livid|hate|hating|ugh+|argh+|grr+|jeez|geez|seriously\?)\b",
    _F,
)
# The subset of anger markers that on their own mean the writer is upset (used for the frustration floor).
_STRONG_ANGER_RE = re.compile(
    r"\b(?:ridiculous|unacceptable|outrageous|disgust(?:ed|ing)|furious|livid|angry|pissed(?: off)?|fed up|"
    r"sick (?:and tired )?of|fuming|infuriat\w*|pathetic|useless|incompetent|scam(?:mers)?|thie(?:f|ves)|"
    r"worst(?!\s+(?:part|case|bit|thing that could))|terrible|horrible|horrendous|awful|atrocious|wtf|ffs|what a joke|absolute joke|(?:is|are|was) (?:a|such a|an absolute|a complete) joke|clowns|"
    r"never again|are you kidding|kidding me|unbelievable|enough is enough|had enough|annoyed|annoying|"
    r"frustrat(?:ed|ing)|irritat(?:ed|ing)|disappoint(?:ed|ing)|hopeless|nightmare|you had one job|"
    r"shame on you|disgrace(?:ful)?|appalling|rip ?off|ripped off|bullshit|crap|shit\w*|damn|f+u+c+k+\w*|"
    r"beyond (?:annoyed|frustrated|angry|ridiculous)|i'?m done|so done|last time i|lost a customer|"
    r"nobody (?:answers|replies|responds|cares)|no one (?:answers|replies|responds|cares)|not impressed|"
    r"waste of (?:time|money)|absurd|insane|seriously\?|really\?|yet again|every single time|"
    r"(?:third|fourth|fifth|3rd|4th|5th) time|(?:three|four|five|six|[3-9]|\d\d) (?:times|emails|calls|messages|days now)|"
    r"not asking again|(?:not|aren'?t|isn'?t) (?:understanding|listening)|(?:round|around) in circles|"
    r"why is (?:this|it|everything) so (?:hard|complicated|difficult)|how hard (?:is it|can it be)|"
    r"what is wrong with (?:you|these people|this company)|are you serious|you had one job|"
    r"can'?t believe|cannot believe|of course it|why did i (?:even )?(?:expect|bother)|why do i (?:even )?bother)",
    _F,
)
_CALM_RE = re.compile(
    r"\b(?:not (?:upset|angry|mad|annoyed|a big deal|a problem|in a rush|in a hurry|complaining)|"
    r"no (?:rush|hurry|worries|problem|stress|big deal|drama)|no hard feelings|these things happen|"
    r"things happen|happens|understand(?:able)?|(?:i )?appreciate|thank you in advance|thanks in advance|"
    r"kind regards|best regards|regards|cheers|have a (?:nice|good|great) day|when you (?:get|have) a (?:chance|moment)|"
    r"whenever (?:you can|convenient)|just (?:letting you know|a heads up|fyi)|fyi|"
    r"not a huge deal|it'?s fine|all good|okay|ok|no problem at all|just wanted to)\b",
    _F,
)
_POSITIVE_RE = re.compile(
    r"\b(?:great|love[ds]?|loving|awesome|amazing|fantastic|wonderful|perfect(?:ly)?|excellent|brilliant|"
    r"happy|glad|pleased|delighted|thrilled|impressed|best|superb|outstanding|lovely|nice|helpful|"
    r"quick|fast|smooth|seamless|appreciate[ds]?|thank(?:s| you)|thx|ty|kudos|props|rock(?:s|ed)?|"
    r"well done|good job|5 stars|five stars|recommend|grateful|stellar|top notch|beautiful|cool|"
    r"exactly what|spot on|flawless|sorted)\b",
    _F,
)
_PROBLEM_RE = re.compile(
    r"\b(?:broken|broke|break|cracked|crack|shattered|smashed|snapped|crushed|dented|torn|ripped|soaked|"
    r"wet|damaged|damage|scratched|missing|lost|late|delayed|delay|cancel+ed|cancel+ation|stuck|waiting|"
    r"waited|wait|hold|never (?:arrived|came|showed)|didn'?t (?:arrive|come|work)|doesn'?t work|"
    r"not working|wrong|defective|faulty|leak\w*|stain\w*|mould\w*|mold\w*|pieces|useless|stranded|"
    r"overbooked|bumped|rebooked|misconnect\w*|diverted|charged|overcharged|fee|fees)\b",
    _F,
)
_SARCASM_RE = re.compile(
    r"(?:\b(?:great|thanks|thank you|thx|love|loving|awesome|wonderful|fantastic|perfect|nice|brilliant|"
    r"amazing|lovely|cool|fabulous|splendid|excellent)\b(?:\s+\w+){0,2}\s*[,.!…]*\s*"
    r"(?:\w+\s+){0,8}?\b(?:another|again|broken|smashed|cracked|crushed|soaked|waiting|waited|late|delay\w*|"
    r"cancel\w*|lost|missing|on hold|stuck|damaged|torn|ruined|weeks?|hours?)\b)"
    r"|(?:\bthanks (?:for nothing|so much for nothing)\b)|(?:\bjust what i (?:needed|wanted)\b)"
    r"|(?:\bas (?:always|usual)\b)|(?:\bclassic\b)|(?:\bwell done\b.{0,30}\b(?:broken|again|lost)\b)"
    r"|(?:\byeah right\b)|(?:\bsure,)|(?:\bwhat a (?:surprise|shock)\b)|(?:\bshocker\b)|(?:\bnot\b.{0,12}\bsurprised\b)",
    _F,
)
_NEG_EMOJI = set("😡🤬😤😠🙄😒😩😫💩👎😞😔😢😭🤦😑😖😣😾💢🤯😵😓😟☹🙁😕")
_POS_EMOJI = set("😀😃😄😁😊🙂😍🥰😘❤💕💖💯👍👏🙌🎉✨⭐🌟😎🤩☺💙💚💛🧡💜🥳🙏")
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_REPEAT_PUNCT = re.compile(r"[!?]{2,}")
_WORD = re.compile(r"[A-Za-z']+")


# --- damage mentions ---------------------------------------------------------------------------
_PACK = (
    r"(?:box|boxes|package|packages|packaging|parcel|carton|cardboard|packet|envelope|mailer|wrapping|"
    r"wrapper|outer box|shipping box|bag|pkg|pack|container|crate|tube|case)"
)
_DAMAGE_PATTERNS: dict[str, list[str]] = {
    "crushed_packaging": [
        rf"\b{_PACK}\b(?:\s+\w+){{0,4}}?\s+(?:was |were |is |came |arrived |got |all |completely |totally |badly |)*"
        r"(?:crushed|crush|squashed|squished|dented|caved(?: in)?|flattened|flat|deformed|bent|smashed|"
        r"mangled|crumpled|battered|bashed|beaten up|beat up|collapsed|destroyed|wrecked)\b",
        rf"\b(?:crushed|squashed|squished|dented|caved(?:-| )in|flattened|deformed|mangled|crumpled|battered|"
        rf"bashed|smashed|collapsed|destroyed|beaten-up|beat up)\s+(?:\w+\s+){{0,2}}?{_PACK}\b",
    ],
    "torn_packaging": [
        rf"\b{_PACK}\b(?:\s+\w+){{0,4}}?\s+(?:was |were |is |came |arrived |got |all |completely |)*"
        r"(?:torn|ripped|punctured|split open|opened|open|cut open|slashed|shredded|busted open|tampered|"
        r"resealed|had a hole|has a hole|with a hole)\b",
        rf"\b(?:torn|ripped|punctured|opened|open|slashed|shredded|tampered(?: with)?|resealed)\s+(?:\w+\s+){{0,2}}?{_PACK}\b",
        rf"\b(?:hole|holes|tear|tears|rip|gash)\s+(?:in|on)\s+(?:the |my |a )?(?:\w+\s+)?{_PACK}\b",
        r"\b(?:tape|seal)\s+(?:was |is )?(?:broken|cut|ripped|torn|missing|peeled|opened)\b",
        r"\b(?:broken|cut|ripped|torn) (?:tape|seal)\b",
    ],
    "water_damage": [
        r"\b(?:wet|soaked|soaking|sodden|soggy|damp|drenched|waterlogged|water[- ]?damaged?|water[- ]?stain\w*|"
        r"water stains?|mou?ld(?:y|ed)?|mildew\w*|rain[- ]?soaked|rained on|in the rain|puddle|moist|"
        r"dripping|water (?:inside|got in|everywhere|all over))\b"
    ],
    "broken": [
        r"\b(?:broken|broke|busted|cracked|crack|cracks|shattered|shatter|smashed|snapped|in (?:\w+ )?pieces|"
        r"pieces|split in (?:two|half)|fell apart|falling apart|came apart|chipped|chip|bust|destroyed|"
        r"demolished|in bits|in shards|shards|ruined|dead on arrival|doa|fractured|bent|warped|"
        r"snapped off|came off|fell off|ripped off|leg (?:is )?(?:off|loose))\b"
    ],
    "surface_damage": [
        r"\b(?:scratch(?:ed|es|y)?|scuff(?:ed|s|ing)?|scrape[sd]?|scraped|gouge[sd]?|dinged|ding|dings|"
        r"marks?|marked|stain(?:ed|s)?|discolou?r(?:ed|ation)|blemish\w*|nick(?:ed|s)?|dent(?:ed|s)? (?:on|in) the (?!box|package|parcel|packaging|carton)\w+|"
        r"scratches|chipped paint|paint (?:chipped|peeling|scratched)|scuffs)\b"
    ],
    "no_damage": [
        r"\b(?:arrived|came|is|was|looks?|seems?|everything(?:'s| is)?|item(?:'s| is)?|product(?:'s| is)?)\s+"
        r"(?:\w+\s+){0,2}?(?:fine|intact|undamaged|perfect|ok|okay|in (?:perfect|good|great|one) (?:condition|shape|piece)|"
        r"unharmed|unscathed|without (?:a|any) (?:scratch|damage)|safe and sound)\b",
        r"\b(?:no|not any|zero|without any)\s+(?:visible\s+)?(?:damage|scratch(?:es)?|dents?|cracks?)\b",
        r"\bnothing (?:is |was |seems |looks )?(?:broken|damaged|wrong with the (?:item|product))\b",
    ],
}
_DAMAGE_RE = {label: [re.compile(p, _F) for p in pats] for label, pats in _DAMAGE_PATTERNS.items()}
# "the box was crushed but the lamp is fine": "fine" speaks about the item, not about every label.
_ITEM_FINE_RE = re.compile(
    r"\b(?:but|though|although|luckily|thankfully|fortunately)\b[^.!?]{0,40}\b(?:is|was|are|were|seems?|looks?)\s+"
    r"(?:\w+\s+)?(?:fine|ok|okay|intact|undamaged|unharmed|perfect|alright|all right|good)\b",
    _F,
)


# "Got the refund, thanks": a resolution mentioned as received is not a request for it.
_RECEIVED_BEFORE = re.compile(
    r"\b(?:got|received|receive|thanks for|thank you for|for the (?:quick |fast |speedy )?|approved|processed|"
    r"issued)\s+(?:the |my |your |a |quick |fast )?$",
    _F,
)
_RECEIVED_AFTER = re.compile(
    r"^\s*(?:arrived|came|came through|went through|has arrived|has come|is here|was quick|was fast|"
    r"hit my|showed up|already)\b",
    _F,
)


def _received(text: str, m: re.Match) -> bool:
    return bool(
        _RECEIVED_BEFORE.search(text[max(0, m.start() - 30) : m.start()])
        or _RECEIVED_AFTER.search(text[m.end() : m.end() + 25])
    )


@dataclass
class Lexical:
    """Lexical reading of one message: features for the heads and phrases for the evidence."""

    human: list[str] = field(default_factory=list)
    human_negated: list[str] = field(default_factory=list)
    refund: list[str] = field(default_factory=list)
    refund_negated: list[str] = field(default_factory=list)
    replacement: list[str] = field(default_factory=list)
    replacement_negated: list[str] = field(default_factory=list)
    anger: list[str] = field(default_factory=list)
    calm: list[str] = field(default_factory=list)
    positive: list[str] = field(default_factory=list)
    problem: list[str] = field(default_factory=list)
    sarcasm: list[str] = field(default_factory=list)
    strong_anger: list[str] = field(default_factory=list)
    received: list[str] = field(default_factory=list)
    emphasis: list[str] = field(default_factory=list)  # "!!!", ALL CAPS words, angry emojis
    pos_emoji: list[str] = field(default_factory=list)
    damage: dict[str, list[str]] = field(default_factory=dict)
    vader: dict[str, float] = field(default_factory=dict)
    caps_ratio: float = 0.0
    n_words: int = 0


def _find(pattern: re.Pattern, text: str) -> list[re.Match]:
    return list(pattern.finditer(text))


def _split_negated(matches: Sequence[re.Match], text: str) -> tuple[list[str], list[str]]:
    kept: list[str] = []
    negated: list[str] = []
    for m in matches:
        (negated if _negated(text, m.start()) else kept).append(m.group(0))
    return kept, negated


_vader = None


def _vader_scores(text: str) -> dict[str, float]:
    global _vader
    if _vader is None:  # cheap, pure Python; a race only builds it twice
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        _vader = SentimentIntensityAnalyzer()
    return _vader.polarity_scores(text)


def read(text: str) -> Lexical:
    """Every lexical signal of `text`; phrases are exact slices of `text`."""
    lex = Lexical()
    words = _WORD.findall(text)
    lex.n_words = len(words)

    human_spans: list[tuple[int, int]] = []
    for pattern in _HUMAN_RE:
        for m in pattern.finditer(text):
            if any(s <= m.start() < e for s, e in human_spans):
                continue
            human_spans.append((m.start(), m.end()))
            lex.human.append(m.group(0).strip())
    negations = _find(_HUMAN_NEGATIONS, text)
    if negations:
        lex.human_negated = [m.group(0) for m in negations]
        neg_spans = [(m.start(), m.end()) for m in negations]
        lex.human = [
            phrase
            for phrase, (s, e) in zip(lex.human, human_spans)
            if _NOT_A_BOT.search(phrase) or not any(ns <= s < ne + 20 for ns, ne in neg_spans)
        ]

    for attr, pattern in (("refund", _REFUND_RE), ("replacement", _REPLACEMENT_RE)):
        matches = _find(pattern, text)
        received = [m for m in matches if _received(text, m)]
        lex.received += [m.group(0) for m in received]
        kept, negated = _split_negated([m for m in matches if m not in received], text)
        setattr(lex, attr, kept)
        setattr(lex, f"{attr}_negated", negated)
    lex.strong_anger, _ = _split_negated(_find(_STRONG_ANGER_RE, text), text)

    lex.anger, _ = _split_negated(_find(_ANGER_RE, text), text)
    # "not upset", "no rush" are calm, and "not happy" is not positive.
    lex.calm = [m.group(0) for m in _find(_CALM_RE, text)]
    lex.positive, _ = _split_negated(_find(_POSITIVE_RE, text), text)
    lex.problem = [m.group(0) for m in _find(_PROBLEM_RE, text)]
    lex.sarcasm = [m.group(0) for m in _find(_SARCASM_RE, text)]

    lex.emphasis = [m.group(0) for m in _REPEAT_PUNCT.finditer(text)]
    caps = [
        w
        for w in _CAPS_WORD.findall(text)
        if w not in {"USPS", "UPS", "DHL", "TV", "USB", "LED", "DOA", "FYI", "ASAP", "OK"}
    ]
    lex.caps_ratio = len(caps) / max(1, lex.n_words)
    lex.emphasis += caps[:5]
    lex.emphasis += [ch for ch in text if ch in _NEG_EMOJI][:5]
    lex.pos_emoji = [ch for ch in text if ch in _POS_EMOJI][:5]

    item_fine = bool(_ITEM_FINE_RE.search(text))
    for label, patterns in _DAMAGE_RE.items():
        found = []
        for pattern in patterns:
            for m in pattern.finditer(text):
                if label != "no_damage" and _negated(text, m.start(), window=25):
                    continue
                found.append(m.group(0))
        if label == "no_damage" and item_fine and not found:
            found = [m.group(0) for m in _ITEM_FINE_RE.finditer(text)]
        if found:
            lex.damage[label] = found
    lex.vader = _vader_scores(text)
    return lex


FEATURE_NAMES: tuple[str, ...] = (
    "human",
    "human_negated",
    "refund",
    "refund_negated",
    "replacement",
    "replacement_negated",
    "anger",
    "calm",
    "positive",
    "problem",
    "sarcasm",
    "emphasis",
    "pos_emoji",
    "caps_ratio",
    "exclaims",
    "questions",
    "vader_compound",
    "vader_neg",
    "vader_pos",
    "short",
    "dmg_crushed_packaging",
    "dmg_torn_packaging",
    "dmg_water_damage",
    "dmg_broken",
    "dmg_surface_damage",
    "dmg_no_damage",
    "strong_anger",
    "received",
    "sarcasm_with_problem",
)


def features(text: str, lex: Lexical) -> list[float]:
    """Numeric lexical features in the order of FEATURE_NAMES, each roughly in [0, 1]."""

    def sat(n: int, k: float = 2.0) -> float:
        return min(1.0, n / k)

    return [
        sat(len(lex.human), 1),
        sat(len(lex.human_negated), 1),
        sat(len(lex.refund), 1),
        sat(len(lex.refund_negated), 1),
        sat(len(lex.replacement), 1),
        sat(len(lex.replacement_negated), 1),
        sat(len(lex.anger), 3),
        sat(len(lex.calm), 2),
        sat(len(lex.positive), 3),
        sat(len(lex.problem), 3),
        sat(len(lex.sarcasm), 1),
        sat(len(lex.emphasis), 3),
        sat(len(lex.pos_emoji), 1),
        min(1.0, lex.caps_ratio * 3),
        sat(text.count("!"), 3),
        sat(text.count("?"), 2),
        lex.vader.get("compound", 0.0),
        lex.vader.get("neg", 0.0),
        lex.vader.get("pos", 0.0),
        1.0 if lex.n_words <= 4 else 0.0,
        *(
            sat(len(lex.damage.get(lbl, ())), 1)
            for lbl in ("crushed_packaging", "torn_packaging", "water_damage", "broken", "surface_damage", "no_damage")
        ),
        sat(len(lex.strong_anger), 2),
        sat(len(lex.received), 1),
        1.0 if lex.sarcasm and (lex.problem or lex.damage) else 0.0,
    ]
