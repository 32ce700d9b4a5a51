"""Webhook notifications: CloudEvents signed per Standard Webhooks, sent in the background."""
