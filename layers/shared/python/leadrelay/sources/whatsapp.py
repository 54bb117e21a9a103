"""WhatsApp Business Cloud API: inbound messages become leads, later ones touchpoints.

Meta's webhook mechanics, shared with Lead Ads (`MetaWebhookAdapter`): the `hub.*` handshake with
the source's `verify_token`, and `X-Hub-Signature-256` over the raw body with its `app_secret`.

A notification (`object: whatsapp_business_account`) holds `entry[].changes[]`; a `messages`
change's `value` carries `contacts[{profile{name}, wa_id}]`, `messages[…]` and/or `statuses[…]`.
- Each inbound message is one lead input: the sender's number (`from`, else the contact's `wa_id`,
  international digits without `+`) → E.164 phone, `profile.name` → name, the text → message, the
  message id (`wamid…`) → `external_id`, so Meta's retries (for up to 7 days) are `duplicate`. A
  first message from an unknown number creates the lead; later ones from the same number match its
  phone and are touchpoints on its timeline (within the dedupe window).
- A click-to-WhatsApp ad's `referral` (only on the first message) → `attribution.ctwa_clid` (and
  the ad's `source_id` → `attribution.ad_id`) and `extra.referral` (`source_url`, `source_type`, …).
- Usernames (2026): a user who adopted a username may come without a phone: `from_user_id` and
  `contacts[].user_id` carry their business-scoped user id (BSUID, `IN.1410018717833190`) and
  `contacts[].profile.username` their username. Such a message is still a lead; the user id is its
  identity for dedupe (like a phone), and both are kept on every WhatsApp lead that has them.
- `statuses[]` (sent / delivered / read / failed, about messages the business sent) are not leads:
  kept raw and acknowledged, and put on the timeline of the lead whose phone is the recipient's.
- Any other change field (account or template updates) is kept raw and acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leadrelay.models import Source
from leadrelay.models.contact import ContactError, normalize_phone
from leadrelay.sources import Notice, ParsedItem, PayloadError
from leadrelay.sources.fields import build_lead, external_id, multiline, obj, scalars, text, time_or_warning
from leadrelay.sources.meta import MetaWebhookAdapter

_REFERRAL = ("source_url", "source_id", "source_type", "headline", "body", "media_type", "image_url",
             "video_url", "thumbnail_url", "ctwa_clid")  # fmt: skip
# A message's fields read above; any other scalar is kept in `extra`.
_READ = frozenset({"id", "from", "from_user_id", "from_parent_user_id", "timestamp", "type"})


def wa_phone(value: Any) -> str | None:
    """A `wa_id` / `from` as a dialable string: international digits get their `+` back (a foreign
    sender's `447…` must not be read as an Indian number)."""
    raw = text(value, 40)
    if raw and raw.isdigit() and len(raw) > 10:
        return "+" + raw
    return raw


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def message_text(message: dict[str, Any]) -> str | None:
    """What the person wrote or chose, whatever the message type; `[type]` for media without a caption."""
    kind = text(message.get("type"), 40) or "text"
    body = obj(message.get(kind))
    if kind == "text":
        return multiline(body.get("body"))
    if kind == "button":
        return multiline(body.get("text") or body.get("payload"))
    if kind == "interactive":
        for reply in ("button_reply", "list_reply", "nfm_reply"):
            chosen = body.get(reply)
            if isinstance(chosen, dict):
                return multiline(chosen.get("title") or chosen.get("body") or chosen.get("id"))
    if kind == "location":
        place = ", ".join(p for p in (text(body.get("name")), text(body.get("address"))) if p)
        where = f"({text(body.get('latitude'), 30)}, {text(body.get('longitude'), 30)})"
        return " ".join(p for p in ("[location]", place, where) if p)
    if kind == "reaction":
        return f"[reaction] {text(body.get('emoji'), 20) or ''}".strip()
    caption = multiline(body.get("caption"))
    return f"[{kind}] {caption}" if caption else f"[{kind}]"


@dataclass
class _Contact:
    """A `contacts[]` entry: who sent the messages of a change."""

    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    name: str | None = None
    username: str | None = None


def _contacts(value: dict[str, Any]) -> list[_Contact]:
    found = []
    for contact in _dicts(value.get("contacts")):
        profile = obj(contact.get("profile"))
        found.append(_Contact(wa_id=text(contact.get("wa_id"), 40), user_id=user_id(contact.get("user_id")),
                              parent_user_id=user_id(contact.get("parent_user_id")), name=text(profile.get("name")),
                              username=text(profile.get("username"), 100)))  # fmt: skip
    return found


def user_id(value: Any) -> str | None:
    """A business-scoped user id (`IN.1410018717833190`, a parent one `US.ENT.…`) as sent."""
    ident = text(value, 200)
    return ident if ident and "." in ident else None


def _sender(message: dict[str, Any], contacts: list[_Contact]) -> _Contact:
    """The contact who sent `message`: matched on the phone (`from` = `wa_id`) or the user id
    (`from_user_id` = `user_id`); a change with one contact is that contact's."""
    phone = text(message.get("from"), 40)
    ident = user_id(message.get("from_user_id"))
    for contact in contacts:
        if (phone and contact.wa_id == phone) or (ident and contact.user_id == ident):
            break
    else:
        contact = contacts[0] if len(contacts) == 1 else _Contact()
    return _Contact(wa_id=phone or contact.wa_id, user_id=ident or contact.user_id,
                    parent_user_id=user_id(message.get("from_parent_user_id")) or contact.parent_user_id,
                    name=contact.name, username=contact.username)  # fmt: skip


# Replies that withdraw consent (WhatsApp Business policy: honour an opt-out at once).
OPT_OUT_WORDS = frozenset({"stop", "unsubscribe", "stop all", "opt out", "optout", "cancel"})


def _opt_out(message: dict[str, Any], message_id: str, sender: str | None) -> Notice | None:
    """A STOP reply: not a lead but a withdrawal of consent for the sender's lead."""
    said = (message_text(message) or "").strip().strip(".!").lower()
    if said not in OPT_OUT_WORDS:
        return None
    try:
        phone = normalize_phone(wa_phone(sender or "") or sender or "")[0]
    except ContactError:
        phone = None
    return Notice(
        reason=f"opt-out ({said.upper()}): consent withdrawn", summary=f"the person replied {said.upper()} on WhatsApp",
        phone=phone, external_id=f"optout:{message_id}",
        data={"consent_withdrawn": True, "channel": "whatsapp", "message_id": message_id},
    )  # fmt: skip


def _lead(message: dict[str, Any], contacts: list[_Contact], value: dict[str, Any], source: Source) -> ParsedItem:
    message_id = external_id(message.get("id"))
    if not message_id:
        return PayloadError("invalid_body", "a WhatsApp message has no id")
    sender = _sender(message, contacts)
    opt_out = _opt_out(message, message_id, sender.wa_id)
    if opt_out is not None:
        return opt_out
    extra: dict[str, Any] = {"wa_id": sender.wa_id, "message_type": text(message.get("type"), 40) or "text"}
    if sender.parent_user_id:
        extra["parent_user_id"] = sender.parent_user_id
    if message.get("timestamp") is not None:
        extra["message_timestamp"] = external_id(message.get("timestamp"))
    metadata = obj(value.get("metadata"))
    for key in ("phone_number_id", "display_phone_number"):
        if metadata.get(key) is not None:
            extra[f"business_{key}"] = external_id(metadata[key])
    context = message.get("context")
    if isinstance(context, dict) and context.get("id"):
        extra["reply_to"] = external_id(context["id"])  # a reply to one of the business's messages
    # Unknown scalars of the message (a later field Meta adds) are kept as sent.
    extra.update({k: v for k, v in scalars(message).items() if k not in _READ and k not in extra})
    attribution: dict[str, str] = {}
    referral = message.get("referral")
    if isinstance(referral, dict):
        kept = {key: text(referral.get(key), 2000) for key in _REFERRAL}
        extra["referral"] = {key: value for key, value in kept.items() if value}
        clid = kept["ctwa_clid"]
        if clid:
            attribution["ctwa_clid"] = clid  # verbatim, like gclid/fbclid
        if kept["source_type"] == "ad" and kept["source_id"]:
            attribution["ad_id"] = kept["source_id"]  # the click-to-WhatsApp ad
    warnings: list[str] = []
    try:
        lead = build_lead(
            source,
            name=sender.name,
            phones=(wa_phone(sender.wa_id),),
            message=message_text(message),
            external=message_id,
            extra=extra,
            attribution=attribution,
            source_time=time_or_warning(message.get("timestamp"), "timestamp", warnings),
            whatsapp_user_id=sender.user_id,
            whatsapp_username=sender.username,
        )
    except PayloadError as exc:
        return PayloadError(exc.code, f"message {message_id}: {exc}", exc.status)
    lead.warnings.extend(warnings)
    return lead


def _status(status: dict[str, Any]) -> Notice:
    state = text(status.get("status"), 40) or "unknown"
    message_id = external_id(status.get("id")) or "?"
    recipient = text(status.get("recipient_id"), 40)
    phone = None
    if recipient:
        try:
            phone = normalize_phone(wa_phone(recipient) or recipient)[0]
        except ContactError:
            phone = None
    recipient_user = user_id(status.get("recipient_user_id"))
    data: dict[str, Any] = {"message_id": message_id, "status": state, "recipient_id": recipient,
                            "recipient_user_id": recipient_user,
                            "timestamp": external_id(status.get("timestamp"))}  # fmt: skip
    errors = _dicts(status.get("errors"))
    if errors:
        data["errors"] = [{k: external_id(e.get(k)) for k in ("code", "title", "message") if e.get(k)} for e in errors]
    summary = f"WhatsApp message {message_id} {state}"
    if errors:
        summary += f": {data['errors'][0].get('title') or data['errors'][0].get('message') or 'error'}"
    return Notice(
        reason=f"delivery status {state!r} of message {message_id}, not a lead",
        summary=summary,
        phone=phone,
        whatsapp_user_id=recipient_user,
        external_id=f"status:{message_id}:{state}",
        data={k: v for k, v in data.items() if v is not None},
    )


class WhatsAppAdapter(MetaWebhookAdapter):
    """WhatsApp Business Cloud API notification → one lead input per inbound message, a notice per
    delivery status; every message and status of a batch handled, one answer."""

    def parse(self, payload: dict[str, Any], source: Source) -> list[ParsedItem]:
        entries = payload.get("entry")
        if not isinstance(entries, list):
            raise PayloadError("invalid_body", "expected WhatsApp's notification: {object, entry: [{changes: […]}]}")
        items: list[ParsedItem] = []
        for entry in _dicts(entries):
            for change in _dicts(entry.get("changes")):
                field = text(change.get("field"), 100) or "?"
                value = obj(change.get("value"))
                if field != "messages":
                    items.append(Notice(reason=f"a {field!r} change, not a message: kept and ignored"))
                    continue
                contacts = _contacts(value)
                items.extend(_lead(message, contacts, value, source) for message in _dicts(value.get("messages")))
                items.extend(_status(status) for status in _dicts(value.get("statuses")))
        if not items:
            raise PayloadError("no_messages", "the notification has no messages, statuses or other changes")
        return items
