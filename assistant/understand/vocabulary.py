"""Words that tell nothing about the topic of a question, and British/American spelling variants.

Used to decide that a question's subject appears in no indexed passage ("tumour treating fields",
"radiotherapy fractionation"): a content word absent from every passage means the sources do not cover
it, unless it is only a way of asking (propose, implicate, discuss) or a spelling the sources write
differently (licence/license, tumour/tumor, signalling/signaling).
"""

from __future__ import annotations

import re

from kernel.text import stem

_GENERIC = """
propose proposed proposes suggest suggests suggested implicate implicated involve involved involves discuss discussed
discusses mention mentioned mentions describe described describes explain explained consider considered highlight
highlighted emphasise emphasize state stated claim claimed argue argued conclude concluded note noted summarise
summarize outline outlined address addressed cover covered recommend recommended identify identified cause caused
role roles importance important relevant relevance evidence data benefit benefits effect effects impact impacts
improve improved improves help helps helped work works worked happen happened patient patients people person
treatment treatments therapy therapies drug drugs option options approach approaches strategy strategies current
currently recent recently today overall general generally usually typical typically likely possible possibly
significant significantly compare compared comparison versus difference differences different better worse best
worst good bad high higher low lower major minor main key first second third new novel latest early late future
become became becomes according accordingly hard difficult easy treat treated treating so why how what which
indicate indicates indicated mean means meant meaning suggestive predict predicts predicted tell tells told give gives given
exactly actually precisely really basically briefly simply quick quickly again
"""
GENERIC_STEMS = frozenset(stem(_GENERIC.split()))

_VARIANTS = (("our", "or"), ("ence", "ense"), ("ise", "ize"), ("isation", "ization"), ("lling", "ling"),
             ("lled", "led"), ("tre", "ter"), ("ae", "e"), ("oe", "e"), ("ogue", "og"))


def spelling_variants(word: str) -> set[str]:
    """Stems of the other spellings of a word ("tumour" -> "tumor", "licence" -> "licens")."""
    word = word.lower()
    out = set()
    for a, b in _VARIANTS:
        for x, y in ((a, b), (b, a)):
            if x in word:
                out.add(re.sub(x, y, word))
    return set(stem(sorted(out))) | out
