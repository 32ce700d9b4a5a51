"""Typed errors of mutations: every expected failure implements ``Error``."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An expected failure; nothing was written.")
class Error:
    message: str
    code: str


@strawberry.type
class NotFoundError(Error):
    id: str


@strawberry.type
class FieldError:
    field: str
    message: str


@strawberry.type
class ValidationError(Error):
    fields: list[FieldError]


@strawberry.type
class RuleDisabledError(Error):
    rule_id: strawberry.ID


@strawberry.type
class ConnectorNotInstalledError(Error):
    connector_type: str


@strawberry.type
class ConflictError(Error):
    pass


@strawberry.type(description="The caller's role does not allow this; nothing was looked up.")
class ForbiddenError(Error):
    pass


@strawberry.type(description="The rule or its connector cannot do this.")
class UnsupportedError(Error):
    pass


def not_found(what: str, gid: object) -> NotFoundError:
    return NotFoundError(message=f"no {what} with id {gid}", code="NOT_FOUND", id=str(gid))


def invalid(*fields: tuple[str, str]) -> ValidationError:
    summary = "; ".join(f"{name}: {message}" for name, message in fields)
    return ValidationError(
        message=f"invalid input: {summary}",
        code="VALIDATION_FAILED",
        fields=[FieldError(field=name, message=message) for name, message in fields],
    )


def conflict(message: str) -> ConflictError:
    return ConflictError(message=message, code="CONFLICT")


def connector_missing(connector_type: str) -> ConnectorNotInstalledError:
    return ConnectorNotInstalledError(
        message=f"connector type {connector_type!r} is not installed",
        code="CONNECTOR_NOT_INSTALLED",
        connector_type=connector_type,
    )
