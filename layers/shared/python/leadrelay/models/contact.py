"""Normalising what people type into lead forms: phones, emails, names, pincodes, budgets."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

DEFAULT_REGION = "IN"

_PHONE_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "landline_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.VOIP: "voip",
}


class ContactError(ValueError):
    """A contact field that cannot be made sense of; the message names the field and the value."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normalize_phone(raw: str | int, region: str = DEFAULT_REGION) -> tuple[str, str]:
    """Return `(E.164, kind)` for a phone typed any common Indian way.

    Accepts `+91`, `91`, `0091` and `0` prefixes, spaces, dashes, dots and brackets. The number
    ranges come from libphonenumber, so a Bengaluru landline `080-2xxxxxxx` stays a landline and
    a 10-digit number must fall in an allocated range (mobiles start 6–9).
    """
    text = str(raw).strip()
    if not text:
        raise ContactError("phone", "phone is empty")
    if len(text) > 40:
        raise ContactError("phone", "phone is too long to be a phone number")
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise ContactError("phone", f"phone {text!r} is not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(number):
        raise ContactError("phone", f"phone {text!r} is not a valid phone number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, _PHONE_TYPES.get(phonenumbers.number_type(number), "other")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]{2,}$")


def normalize_email(raw: str) -> str:
    """Lower-case and check the rough shape `local@domain.tld`."""
    text = unicodedata.normalize("NFC", str(raw)).strip().lower()
    if not text or len(text) > 254 or not _EMAIL.match(text):
        raise ContactError("email", f"email {str(raw)!r} is not an email address")
    return text


def normalize_text(raw: object, max_length: int = 500) -> str | None:
    """NFC-normalise, trim and collapse white space; names in any script stay as written."""
    if raw is None:
        return None
    text = " ".join(unicodedata.normalize("NFC", str(raw)).split())
    return text[:max_length] or None


def normalize_pincode(raw: object) -> str:
    """A 6-digit Indian PIN code (first digit 1–9); spaces inside are tolerated."""
    text = re.sub(r"\s+", "", str(raw))
    if not re.fullmatch(r"[1-9][0-9]{5}", text):
        raise ContactError("pincode", f"pincode {str(raw)!r} is not a 6-digit Indian PIN code")
    return text


_AMOUNT = re.compile(r"^(?:₹|rs\.?|inr)?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(crores?|cr|lakhs?|lacs?|lac|l|k|thousand)?$")
_MULTIPLIERS = {
    "crore": 10_000_000, "crores": 10_000_000, "cr": 10_000_000,
    "lakh": 100_000, "lakhs": 100_000, "lac": 100_000, "lacs": 100_000, "l": 100_000,
    "k": 1_000, "thousand": 1_000,
}  # fmt: skip


def parse_budget(raw: object) -> Decimal:
    """Rupees as a Decimal from `7500000`, `"75,00,000"`, `"₹75 lakh"`, `"1.2 crore"`, `"50k"`."""
    if isinstance(raw, bool):
        raise ContactError("budget", "budget must be an amount, not true/false")
    if isinstance(raw, int | float | Decimal):
        amount = Decimal(str(raw))
        if not amount.is_finite():
            raise ContactError("budget", f"budget {str(raw)!r} is not an amount")
    else:
        match = _AMOUNT.match(str(raw).strip().lower())
        if not match:
            raise ContactError("budget", f"budget {str(raw)!r} is not an amount in rupees")
        try:
            amount = Decimal(match.group(1).replace(",", ""))
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
            raise ContactError("budget", f"budget {str(raw)!r} is not an amount") from exc
        if match.group(2):
            amount *= _MULTIPLIERS[match.group(2)]
    if amount < 0:
        raise ContactError("budget", "budget cannot be negative")
    amount = amount.quantize(Decimal("0.01"))
    return amount.quantize(Decimal(1)) if amount == amount.to_integral_value() else amount


_LANGUAGES = {
    "english": "en", "hindi": "hi", "tamil": "ta", "telugu": "te", "kannada": "kn",
    "malayalam": "ml", "marathi": "mr", "gujarati": "gu", "bengali": "bn", "bangla": "bn",
    "punjabi": "pa", "odia": "or", "oriya": "or", "assamese": "as", "urdu": "ur",
    "konkani": "kok", "hinglish": "hi",
}  # fmt: skip


def normalize_language(raw: object) -> str | None:
    """An ISO 639 code (`hi`, `ta`…) from a code or an English language name."""
    text = normalize_text(raw, 40)
    if not text:
        return None
    key = text.lower()
    if key in _LANGUAGES:
        return _LANGUAGES[key]
    if re.fullmatch(r"[a-z]{2,3}(-[a-z]{2})?", key):
        return key.split("-")[0]
    raise ContactError("language", f"language {text!r} is neither an ISO 639 code nor a known language")


_TRUE = {"true", "yes", "y", "1", "on", "agreed", "accepted"}
_FALSE = {"false", "no", "n", "0", "off", ""}


def parse_bool(raw: object, field: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ContactError(field, f"{field} {str(raw)!r} is not true or false")


# ISO 3166-2:IN subdivision codes (28 states, 8 union territories) and their official names.
STATE_NAMES = {
    "AP": "Andhra Pradesh", "AR": "Arunachal Pradesh", "AS": "Assam", "BR": "Bihar", "CG": "Chhattisgarh",
    "GA": "Goa", "GJ": "Gujarat", "HR": "Haryana", "HP": "Himachal Pradesh", "JH": "Jharkhand",
    "KA": "Karnataka", "KL": "Kerala", "MP": "Madhya Pradesh", "MH": "Maharashtra", "MN": "Manipur",
    "ML": "Meghalaya", "MZ": "Mizoram", "NL": "Nagaland", "OD": "Odisha", "PB": "Punjab", "RJ": "Rajasthan",
    "SK": "Sikkim", "TN": "Tamil Nadu", "TS": "Telangana", "TR": "Tripura", "UP": "Uttar Pradesh",
    "UK": "Uttarakhand", "WB": "West Bengal",
    "AN": "Andaman and Nicobar Islands", "CH": "Chandigarh",
    "DH": "Dadra and Nagar Haveli and Daman and Diu", "DL": "Delhi", "JK": "Jammu and Kashmir",
    "LA": "Ladakh", "LD": "Lakshadweep", "PY": "Puducherry",
}  # fmt: skip
# Old codes and names people (and older provider forms) still send.
_STATE_CODE_ALIASES = {"CT": "CG", "UT": "UK", "UL": "UK", "OR": "OD", "DN": "DH", "DD": "DH", "TG": "TS"}
_STATE_NAME_ALIASES = {
    "orissa": "OD", "pondicherry": "PY", "pondichery": "PY", "uttaranchal": "UK", "chattisgarh": "CG",
    "chhatisgarh": "CG", "telengana": "TS", "tamilnadu": "TN", "new delhi": "DL", "nct of delhi": "DL",
    "national capital territory of delhi": "DL", "delhi ncr": "DL", "j&k": "JK", "jammu & kashmir": "JK",
    "andaman & nicobar islands": "AN", "andaman and nicobar": "AN", "andaman & nicobar": "AN",
    "dadra and nagar haveli": "DH", "daman and diu": "DH", "dadra & nagar haveli": "DH", "daman & diu": "DH",
    "maharastra": "MH", "karnatka": "KA", "gujrat": "GJ", "west bengal": "WB", "paschim banga": "WB",
}  # fmt: skip
_STATE_BY_NAME = {name.lower(): code for code, name in STATE_NAMES.items()} | _STATE_NAME_ALIASES


def normalize_state(raw: object) -> tuple[str, str] | None:
    """`(official name, ISO 3166-2:IN code)` for a state or UT written by name, old name or code
    (`Orissa` → Odisha/OD, `Pondicherry` → PY, `IN-KA` → KA, `CT` → CG); None if not recognised."""
    text = normalize_text(raw, 80)
    if not text:
        return None
    key = " ".join(text.lower().replace(".", " ").split())
    code = _STATE_BY_NAME.get(key)
    if code is None:
        upper = key.upper().removeprefix("IN-")
        code = upper if upper in STATE_NAMES else _STATE_CODE_ALIASES.get(upper)
    return (STATE_NAMES[code], code) if code else None


# Unicode blocks of the Indic scripts → the language most leads written in them use.
_SCRIPTS = (
    (0x0900, 0x097F, "hi"),  # Devanagari (also Marathi, Konkani; Hindi is the common case)
    (0x0980, 0x09FF, "bn"),  # Bengali (also Assamese)
    (0x0A00, 0x0A7F, "pa"),  # Gurmukhi
    (0x0A80, 0x0AFF, "gu"),  # Gujarati
    (0x0B00, 0x0B7F, "or"),  # Odia
    (0x0B80, 0x0BFF, "ta"),  # Tamil
    (0x0C00, 0x0C7F, "te"),  # Telugu
    (0x0C80, 0x0CFF, "kn"),  # Kannada
    (0x0D00, 0x0D7F, "ml"),  # Malayalam
)


def language_from_script(*texts: str | None) -> str | None:
    """A language hint from the Indic script most used in the texts (a name, a message), or None
    when they are in Latin script only: `राहुल` → hi, `முருகன்` → ta."""
    counts: dict[str, int] = {}
    for text in texts:
        for char in text or "":
            point = ord(char)
            if point < 0x0900 or point > 0x0D7F:
                continue
            for start, end, language in _SCRIPTS:
                if start <= point <= end:
                    counts[language] = counts.get(language, 0) + 1
                    break
    return max(counts, key=lambda language: counts[language]) if counts else None
