"""Comparing donor names across scripts and spellings, the way a careful accountant would.

Three forms of each name are compared and the best agreement wins: the Arabic matching key
(letter forms folded, see :mod:`hub.text.arabic`); a folded Latin form (Mhd/Mohamed/Muhammad
are one name, Abdul/Abdel glue to the next word, al-/el- drop, vowels and doubled letters
fold) with Arabic transliterated into it, because SWIFT carries no Arabic; and the
consonant skeleton of that form. A given name alone proves little: when both names have a
family name, the family names must agree too, or the score is halved.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz

from hub.text.arabic import matching_key

__all__ = ["family_block", "latin_fold", "name_in_text", "name_similarity"]

_HONORIFICS = {
    "السيد",
    "السيده",
    "الحاج",
    "الحاجه",
    "الشيخ",
    "الدكتور",
    "الدكتوره",
    "المهندس",
    "المهندسه",
    "الاستاذ",
    "mr",
    "mrs",
    "ms",
    "dr",
    "eng",
    "haj",
    "hajji",
    "sheikh",
}
_TRANSLIT = {
    "ا": "a",
    "ب": "b",
    "ت": "t",
    "ث": "th",
    "ج": "j",
    "ح": "h",
    "خ": "kh",
    "د": "d",
    "ذ": "dh",
    "ر": "r",
    "ز": "z",
    "س": "s",
    "ش": "sh",
    "ص": "s",
    "ض": "d",
    "ط": "t",
    "ظ": "z",
    "ع": "",
    "غ": "gh",
    "ف": "f",
    "ق": "q",
    "ك": "k",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ه": "h",
    "و": "w",
    "ي": "y",
    "ء": "",
    " ": " ",
}
_LATIN_NAMES = {
    "mhd": "muhammad",
    "mohd": "muhammad",
    "mohamed": "muhammad",
    "mohammed": "muhammad",
    "mohammad": "muhammad",
    "muhammed": "muhammad",
    "mohamad": "muhammad",
    "muhamad": "muhammad",
    "mohamd": "muhammad",
    "mhmd": "muhammad",
}
_NON_WORD = re.compile(r"[^a-z\u0600-\u06ff ]+")
_ARABIC = re.compile(r"[\u0600-\u06ff]")


def _glue(tokens: list[str], prefixes: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t in prefixes and i + 1 < len(tokens):
            nxt = tokens[i + 1]
            if nxt in ("al", "el", "ul") and i + 2 < len(tokens):
                nxt = tokens[i + 2]
                i += 1
            out.append("abd" + nxt if t.startswith("abd") else t + nxt)
            i += 2
            continue
        out.append(t)
        i += 1
    return out


@lru_cache(maxsize=65536)
def latin_fold(name: str) -> str:
    """A Latin key for ``name`` (Arabic is transliterated first); equal keys are one spelling."""
    key = matching_key(name)
    key = "".join(_TRANSLIT.get(ch, ch) for ch in key)
    key = _NON_WORD.sub(" ", key.replace("-", " ").replace("'", ""))
    tokens = [t for t in key.split() if t not in _HONORIFICS]
    tokens = [_LATIN_NAMES.get(t, t) for t in tokens]
    tokens = _glue(tokens, ("abd", "bd", "abdul", "abdel", "abdal", "abu", "abou", "abo"))
    out = []
    for t in tokens:
        if t in ("al", "el", "ul"):
            continue  # a detached article: "Al Khatib" is "Khatib"
        if t.startswith("bd") and not t.startswith("abd"):
            t = "a" + t  # Arabic عبد carries no written vowel
        for article in ("al", "el"):
            if t.startswith(article) and len(t) > len(article) + 2 and t not in _LATIN_NAMES.values():
                t = t[len(article) :]
        t = t.replace("ou", "u").replace("ch", "sh").replace("ee", "i").replace("oo", "u")
        t = t.replace("e", "a").replace("o", "u").replace("w", "u").replace("y", "i")
        t = re.sub(r"(.)\1+", r"\1", t)
        if t:
            out.append(t)
    return " ".join(out)


def _skeleton(folded: str) -> str:
    return " ".join(s for s in (re.sub(r"[aiu]", "", t) for t in folded.split()) if s)


def _arabic_key(name: str) -> str:
    tokens = [t for t in matching_key(name).split() if t not in _HONORIFICS]
    return " ".join(_glue(tokens, ("عبد", "ابو")))


@lru_cache(maxsize=65536)
def _forms(name: str) -> tuple[tuple[str, str], ...]:
    """The three comparison forms of a name, each with its family name ("" when there is none)."""
    folded = latin_fold(name)
    return tuple((f, _family(f)) for f in (_arabic_key(name), folded, _skeleton(folded)))


def _family(form: str) -> str:
    parts = form.split()
    return parts[-1] if len(parts) > 1 else ""


def name_similarity(a: str | None, b: str | None) -> float:
    """0..1: how surely ``a`` and ``b`` name the same person (1.0 for one name in two scripts)."""
    if not a or not b:
        return 0.0
    best = 0.0
    fa, fb = _forms(a), _forms(b)
    # Latin folding first (it serves every pair of scripts); the Arabic key only when both are Arabic.
    order = (1, 2, 0) if _ARABIC.search(a) and _ARABIC.search(b) else (1, 2)
    for i in order:
        (x, fx), (y, fy) = fa[i], fb[i]
        if not x or not y:
            continue
        score = fuzz.token_set_ratio(x, y, processor=None) / 100
        if fx and fy and fx != fy and fuzz.ratio(fx, fy, processor=None) < 75:
            score *= 0.5  # "Mohammad Ali" is not "Mohammad Ahmad"
        best = max(best, score)
        if best >= 0.999:
            break
    return round(best, 3)


IN_TEXT = 0.9  # a whole name found in free text: as good as a close spelling, short of a payer field


def name_in_text(name: str | None, text: str | None) -> float:
    """``IN_TEXT`` when every word of ``name`` (two or more) stands in ``text`` as a word, else 0.

    Some banks' statement lines carry no payer name, only free text ("RANA HADDAD gift",
    "تبرع من سامر خليل"). The donor's whole name written there, each word folded the same way as
    in :func:`name_similarity` (any script, any common spelling), names the payer nearly as well
    as a payer field. A single word is never enough: a given name alone names half a city.
    """
    if not name or not text:
        return 0.0
    wanted = latin_fold(name).split()
    if len(wanted) < 2:
        return 0.0
    words = latin_fold(text).split()
    spelled, consonants = set(words), {_skeleton(w) for w in words}

    def stands(word: str) -> bool:
        # Arabic written without short vowels folds to "rna hdad"; the Latin "Rana Haddad" to
        # "rana hadad": the consonants agree (and must be more than one letter to count).
        bare = _skeleton(word)
        return word in spelled or (len(bare) > 1 and bare in consonants)

    return IN_TEXT if all(stands(w) for w in wanted) else 0.0


@lru_cache(maxsize=65536)
def family_block(name: str | None) -> str:
    """The first two consonants of the family name's skeleton ("" when there is no family name).

    Used to block the amount-and-name search: two names whose family names do not share these
    are never a confident match anyway (the family names must agree).
    """
    if not name:
        return ""
    folded = latin_fold(name).split()
    if len(folded) < 2:
        return ""
    last = folded[-1]
    skeleton = re.sub(r"[aiu]", "", last) or last
    return skeleton[:2]
