"""Input checked at the edge, with each field's own rules: text, emails, names.

Every text a mutation stores is bounded and free of control characters (a NUL in a name, a
CR LF in an email that later becomes a mail header); emails are checked by a real validator.
"""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

NAME_MAX = 256
"""userName, displayName, rule and connection names, and other one-line fields."""
TEXT_MAX = 2048
"""Longer free text (a description, a user filter)."""
EMAIL_MAX = 320


def text_problem(
    value: str | None, max_length: int = NAME_MAX, multiline: bool = False
) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    if value is None:
        return None
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    allowed = {"\n", "\t"} if multiline else set()
    for char in value:
        if char in allowed:
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in ("\u2028", "\u2029"):
            return "must not contain control characters"
    return None


def normalized_email(value: str) -> tuple[str | None, str | None]:
    """(the email as stored, None) or (None, why it is refused)."""
    if len(value) > EMAIL_MAX:
        return None, f"must be at most {EMAIL_MAX} characters"
    if text_problem(value, EMAIL_MAX):
        return None, "is not an email address (control characters)"
    try:
        # Syntax only: no DNS from a mutation; .test (test suites) is a fine domain here.
        checked = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return None, f"is not an email address: {exc}"
    return checked.normalized, None


__all__ = ["EMAIL_MAX", "NAME_MAX", "TEXT_MAX", "normalized_email", "text_problem"]
