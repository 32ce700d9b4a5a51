"""Settings of one SCIM provisioning connection.

Secrets are top-level :class:`pydantic.SecretStr` fields so the host stores them apart and
never shows them again (see :attr:`connectors.ConnectorType.secret_fields`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.urls import check_target_url

AuthType = Literal["none", "bearer", "basic", "oauth2"]
MatchingAttribute = Literal["userName", "email"]
MembershipMode = Literal["merge", "overwrite"]


class ScimSettings(BaseModel):
    """Where the SCIM service provider is, how to authenticate, and what the rule may do."""

    # Unknown keys and wrong types are refused ("8" is not 8), never silently fixed.
    model_config = ConfigDict(extra="forbid", strict=True)

    base_url: str = Field(
        description="Root of the SCIM endpoints, e.g. https://idp.example/scim/v2"
    )
    auth: AuthType = Field(default="none", description="How requests authenticate.")
    token: SecretStr | None = Field(default=None, description="Bearer token (auth=bearer).")
    username: str | None = Field(
        default=None,
        max_length=256,
        pattern=r"^[^:\x00-\x1f\x7f]*$",
        description="HTTP basic user name (auth=basic).",
    )
    password: SecretStr | None = Field(
        default=None, description="HTTP basic password (auth=basic)."
    )
    token_url: str | None = Field(
        default=None, description="OAuth 2.0 token endpoint (auth=oauth2)."
    )
    client_id: str | None = Field(
        default=None,
        max_length=256,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="OAuth 2.0 client id (auth=oauth2).",
    )
    client_secret: SecretStr | None = Field(
        default=None, description="OAuth 2.0 client secret (auth=oauth2)."
    )
    scope: str | None = Field(
        default=None,
        max_length=1024,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="OAuth 2.0 scope to ask for, if any.",
    )
    token_auth_method: Literal["client_secret_basic", "client_secret_post"] = Field(
        default="client_secret_basic", description="How the client authenticates to the token URL."
    )
    users_endpoint: str = Field(default="/Users", max_length=256, pattern=r"^[^\s?#]*$")
    groups_endpoint: str = Field(default="/Groups", max_length=256, pattern=r"^[^\s?#]*$")
    matching_attribute: MatchingAttribute = Field(
        default="userName",
        description="How an impacted user's account is found: userName or work email.",
    )
    create_enabled: bool = True
    update_enabled: bool = True
    disable_enabled: bool = True
    group_membership: MembershipMode = Field(
        default="merge",
        description="merge: add missing members only; overwrite: exactly the desired members.",
    )
    concurrency: int = Field(default=8, ge=1, le=64, description="Requests in flight at once.")
    request_timeout: float | None = Field(
        default=None,
        gt=0,
        le=600,
        description="Seconds per request; the host's timeout when unset.",
    )
    max_retries: int = Field(default=4, ge=0, le=10, description="Retries of one request.")
    backoff_base: float = Field(
        default=0.25, ge=0, le=60, description="First retry delay in seconds."
    )
    backoff_max: float = Field(
        default=10.0, gt=0, le=3600, description="Longest delay between retries."
    )
    filter_chunk: int = Field(
        default=50, ge=1, le=200, description="Users looked up by one OR filter."
    )
    page_size: int = Field(
        default=1000, ge=1, le=10_000, description="Resources asked for per listing page."
    )
    use_bulk: bool = Field(
        default=True, description="Create accounts through /Bulk when the target supports it."
    )

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return check_target_url(value, "base_url")

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str | None) -> str | None:
        # The client secret is sent there: the same rules as the base URL.
        return None if value is None else check_target_url(value, "token_url")

    @field_validator("users_endpoint", "groups_endpoint")
    @classmethod
    def _leading_slash(cls, value: str) -> str:
        return "/" + value.strip().strip("/")

    @model_validator(mode="after")
    def _auth_complete(self) -> ScimSettings:
        needed: dict[str, tuple[str, ...]] = {
            "none": (),
            "bearer": ("token",),
            "basic": ("username", "password"),
            "oauth2": ("token_url", "client_id", "client_secret"),
        }
        missing = [name for name in needed[self.auth] if not getattr(self, name)]
        if missing:
            raise ValueError(f"auth={self.auth} needs {', '.join(missing)}")
        return self
