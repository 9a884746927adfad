"""Text helpers that keep Arabic as written and compute matching keys beside it."""

from hub.text.arabic import matching_key, name_keys, normalize_digits, strip_marks

__all__ = ["matching_key", "name_keys", "normalize_digits", "strip_marks"]
