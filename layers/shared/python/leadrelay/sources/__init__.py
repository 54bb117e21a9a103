"""Source adapters: one per provider kind, each turning a provider's payload into a `LeadInput`."""

from __future__ import annotations

from typing import Any, Protocol

from leadrelay.models import LeadInput, Source, SourceKind


class PayloadError(ValueError):
    """The payload cannot become a lead; `code` is the API error code, the message says why."""

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class SourceAdapter(Protocol):
    """Turns one provider's request payload into a lead."""

    def parse(self, payload: dict[str, Any], source: Source) -> LeadInput: ...


def adapter_for(kind: SourceKind) -> SourceAdapter | None:
    """The adapter registered for a source kind, or None if that kind is not supported yet."""
    from leadrelay.sources.generic import GenericAdapter

    registry: dict[SourceKind, SourceAdapter] = {
        SourceKind.GENERIC: GenericAdapter(),
        SourceKind.WEB_FORM: GenericAdapter(),
    }
    return registry.get(kind)


SUPPORTED_KINDS = (SourceKind.GENERIC, SourceKind.WEB_FORM)
