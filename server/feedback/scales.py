"""Answer scales. Counts are kept per option so FFT and THL/NPS figures share one source."""

from __future__ import annotations

from typing import Literal

Scale = Literal["fft", "nps"]
Channel = Literal["kiosk", "sms", "qr", "web"]
ContactMode = Literal["in_person", "video", "phone", "chat", "home_visit"]
Sentiment = Literal["positive", "neutral", "negative", "unknown"]

CHANNELS: tuple[Channel, ...] = ("kiosk", "sms", "qr", "web")
CONTACT_MODES: tuple[ContactMode, ...] = ("in_person", "video", "phone", "chat", "home_visit")

FFT_OPTIONS = ("very_good", "good", "neither", "poor", "very_poor", "dont_know")
NPS_OPTIONS = tuple(str(n) for n in range(11))
OPTIONS: dict[str, tuple[str, ...]] = {"fft": FFT_OPTIONS, "nps": NPS_OPTIONS}
QUESTION = {"fft": "overall_experience", "nps": "recommendation"}

FFT_POSITIVE = frozenset({"very_good", "good"})
FFT_NEGATIVE = frozenset({"poor", "very_poor"})


def is_valid_rating(scale: str, rating: str) -> bool:
    return rating in OPTIONS.get(scale, ())


def sentiment(scale: str, rating: str) -> Sentiment:
    """Coarse sentiment: FFT by definition, NPS as promoter (9–10) / detractor (0–6)."""
    if scale == "nps":
        value = int(rating)
        return "positive" if value >= 9 else "negative" if value <= 6 else "neutral"
    if rating in FFT_POSITIVE:
        return "positive"
    if rating in FFT_NEGATIVE:
        return "negative"
    return "neutral" if rating == "neither" else "unknown"
