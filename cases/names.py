"""When two patients' names look like the same person's (the registration duplicate check, SPEC section 3.1).

Computed in Python (rapidfuzz) over the few patients born on the same day, which the database narrows first, so
the rule is the same on SQLite and PostgreSQL (no trigram or soundex extension needed).

Two names resemble each other when, after folding case, accents and punctuation:
- the last names are the same (SPEC 3.1's rule: a namesake born the same day is worth a look), or
- the full names are at least `SIMILAR_NAME_SCORE` alike (rapidfuzz's `token_sort_ratio`, an edit-distance
  ratio from 0 to 100 that ignores word order): "Jonathan Pahm" and "Jonathan Pham" score 92, a swapped first and
  last name 100, "Jon Pham" and "Jonathan Pham" 76 (caught by the last name instead), or
- the last names are alike (`SIMILAR_NAME_SCORE`) and one first name starts the other ("Jon" / "Jonathan").
"""

import unicodedata

from rapidfuzz import fuzz

SIMILAR_NAME_SCORE = 85


def fold(name: str) -> str:
    """Lower case, no accents, letters and single spaces only: "  O'Brien-Núñez " -> "obrien nunez"."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = "".join(ch if ch.isalnum() else (" " if ch in " -\t" else "") for ch in letters.lower())
    return " ".join(words.split())


def names_resemble(first_a: str, last_a: str, first_b: str, last_b: str) -> bool:
    first_a, last_a, first_b, last_b = fold(first_a), fold(last_a), fold(first_b), fold(last_b)
    if not (last_a and last_b):
        return False
    if last_a == last_b:
        return True
    if fuzz.token_sort_ratio(f"{first_a} {last_a}", f"{first_b} {last_b}") >= SIMILAR_NAME_SCORE:
        return True
    same_start = bool(first_a and first_b) and (first_a.startswith(first_b) or first_b.startswith(first_a))
    return same_start and fuzz.ratio(last_a, last_b) >= SIMILAR_NAME_SCORE
