"""Security of the core: roles and the caller (principal), API tokens, secrets at rest,
configuration and the egress policy. The HTTP side (authentication middleware, OIDC,
document limits, WebSocket checks) is :mod:`provisync.api.security`."""
