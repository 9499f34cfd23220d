"""Structured assessment instruments (SPEC section 4), declared once as data and scored by one function."""

from cases.instruments.definitions import INSTRUMENTS, Band, Instrument, Item
from cases.instruments.scoring import Score, score_responses

__all__ = ["INSTRUMENTS", "Band", "Instrument", "Item", "Score", "score_responses"]
