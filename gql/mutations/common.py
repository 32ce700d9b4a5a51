"""Helpers for mutations: id parsing and turning validation failures into typed errors."""

from __future__ import annotations

from typing import Any

import pydantic
from strawberry import relay

from gql.types.common import valid_pk
from gql.types.errors import FieldError, ValidationError, invalid


def pydantic_errors(exc: pydantic.ValidationError, prefix: str) -> ValidationError:
    """Field errors from pydantic, without ever echoing the input (it may hold a secret)."""
    fields = [
        (".".join([prefix, *(str(part) for part in error["loc"])]), error["msg"])
        for error in exc.errors(include_input=False, include_url=False)
    ]
    return invalid(*fields)


def parse_ids(ids: list[relay.GlobalID], type_name: str, field: str) -> list[int] | ValidationError:
    out = []
    for gid in ids:
        pk = valid_pk(gid.node_id)
        if gid.type_name != type_name or pk is None:
            return invalid((field, f"{gid} is not a {type_name} id"))
        out.append(pk)
    return out


def field_error(field: str, message: str) -> ValidationError:
    return ValidationError(
        message=f"invalid input: {field}: {message}",
        code="VALIDATION_FAILED",
        fields=[FieldError(field=field, message=message)],
    )


def unset_to_dict(**values: Any) -> dict[str, Any]:
    """The given (not UNSET) values of an update input."""
    import strawberry

    return {k: v for k, v in values.items() if v is not strawberry.UNSET}
