"""The phrase marks added for the attribute vocabulary: any word, anchors, long gaps, slots, exclusions."""

from assistant.understand.phrases import matcher


def _finds(phrase, text, slots=None):
    return bool(matcher([phrase], slots).search(text))


def test_star_alone_is_one_word():
    assert _finds("how many [*] {centres|sites}", "how many US centres took part?")
    assert _finds("how many [*] {centres|sites}", "how many centres took part?")
    assert _finds("did [the] * arm", "what did the nivo-ipi arm get?")  # a hyphenated word is one word
    assert not _finds("how many * centres", "how many centres?")
    assert not _finds("how many [*] centres", "how many big US centres?")


def test_anchors():
    assert _finds("^ who is", "  who is the sponsor?")
    assert not _finds("^ who is", "tell me who is the sponsor")
    assert _finds("n ? $", "and n?")
    assert not _finds("n ? $", "n? and the hr")


def test_long_gap():
    text = "what did the exploratory genomic and immune analyses in the trial find?"
    assert _finds("what did .... find", text)
    assert not _finds("what did ... find", text)  # a few words only


def test_slots():
    slots = {"years": r"\d+|two"}
    assert _finds("alive at <years>", "how many were alive at two years?", slots)
    assert _finds("<years> {year|years} surviv*", "2-year survival", slots)
    assert not _finds("alive at <years>", "alive at last", slots)


def test_not_after_and_not_before():
    arms = {"phrase": "arms", "not_after": ["by", "per"], "not_before": ["{did|was} better"]}
    assert _finds(arms, "what were the arms?")
    assert not _finds(arms, "results by arms")
    assert not _finds(arms, "which arms did better?")
    status = {"phrase": "status", "not_after": ["PD-L1"]}
    assert _finds(status, "what is the trial's status?")
    assert not _finds(status, "PD-L1 status")


def test_plain_phrases_unchanged():
    assert matcher(["follow up"]).pattern == r"\bfollow[\s-]*up\b"
    assert matcher(["how long did ... respon*"]).pattern == r"\bhow[\s-]*long[\s-]*did\b.{0,40}?\brespon\w*\b"
