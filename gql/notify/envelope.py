"""A notification as a CloudEvents 1.0 JSON event (structured mode), signed per Standard Webhooks.

Headers: ``webhook-id`` (the delivery: the same on every retry, so receivers can drop
duplicates), ``webhook-timestamp`` (seconds since the epoch, at this attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, keyed with the
base64-decoded part of the subscription's ``whsec_...`` secret).
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook
from strawberry import relay

from gql.store.models import NotificationEvent

CONTENT_TYPE = "application/cloudevents+json"
SECRET_PREFIX = "whsec_"
_GLOBAL_IDS = {"ruleId": "Rule", "runId": "SyncRun"}


def secret_problem(secret: str) -> str | None:
    """Why a signing secret is not usable (None when it is): ``whsec_`` + base64, 24+ bytes."""
    if not secret.startswith(SECRET_PREFIX):
        return f"must start with {SECRET_PREFIX} followed by base64 (Standard Webhooks)"
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return f"the part after {SECRET_PREFIX} must be base64"
    if not 24 <= len(key) <= 64:
        return "the key must be 24 to 64 bytes (32 recommended)"
    return None


def cloud_event(event: NotificationEvent) -> dict[str, Any]:
    """The event's CloudEvents 1.0 form; rule and run ids are Relay global ids."""
    data = {
        key: relay.to_base64(_GLOBAL_IDS[key], value)
        if key in _GLOBAL_IDS and value is not None
        else value
        for key, value in event.data.items()
    }
    created = event.created_at if event.created_at.tzinfo else event.created_at.replace(tzinfo=UTC)
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(event.id),
        "source": "/provisync",
        "type": event.type,
        "time": created.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": data,
    }
    if data.get("ruleId"):
        envelope["source"] = f"/provisync/rules/{data['ruleId']}"
        envelope["subject"] = str(data["ruleId"])
    return envelope


def signed_request(
    delivery_id: int, secret: str, event: NotificationEvent, now: datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery attempt."""
    body = json.dumps(cloud_event(event), separators=(",", ":"), sort_keys=True)
    message_id = f"msg_{delivery_id}"
    signature = Webhook(secret).sign(message_id, now, body)
    headers = {
        "content-type": CONTENT_TYPE,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "user-agent": "provisync-webhooks",
    }
    return body.encode(), headers
