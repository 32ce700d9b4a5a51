"""Settings of one Workday provisioning connection."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from provisync_sdk.urls import check_target_url
from provisync_workday.extension_fields import check

WriteBackAttribute = Literal["email", "phone", "userName"]


class WorkdaySettings(BaseModel):
    """What a Workday connection needs: the endpoint, an integration system user, options."""

    # Unknown keys and wrong types are refused ("8" is not 8), never silently fixed.
    model_config = ConfigDict(extra="forbid", strict=True)

    base_url: str = Field(
        description="Workday Web Services host, e.g. https://wd2-impl-services1.workday.com",
        min_length=1,
    )
    tenant: str = Field(
        description="The tenant name in the service URL.",
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.-]+$",
    )
    api_version: str = Field("v44.0", pattern=r"^v\d+(\.\d+)?$",
                             description="Workday Web Services version, e.g. v44.0.")
    username: str = Field(
        description="Integration system user; '@tenant' is added when missing.",
        min_length=1,
        max_length=256,
        pattern=r"^[^\x00-\x1f\x7f]+$",
    )
    password: SecretStr = Field(description="The integration system user's password.")
    page_size: int = Field(100, ge=1, le=999, description="Workers per Get_Workers page.")
    write_back_attributes: list[WriteBackAttribute] = Field(
        default_factory=lambda: list[WriteBackAttribute](["email", "phone"]),
        description="Directory attributes written back to Workday.",
    )
    phone_device_type: str = Field(
        "Landline", max_length=64, description="Device type of written phones."
    )
    extension_fields: dict[str, str] = Field(
        default_factory=dict,
        description="Worker fields read into directory extension attributes: attribute name to "
        "a preset (location, costCenter, hireDate, workerType, managerId) or an XPath "
        "relative to wd:Worker_Data, e.g. {\"site\": \"location\"}.",
    )
    request_timeout: float = Field(30.0, gt=0, le=600, description="Seconds per SOAP call.")
    max_retries: int = Field(3, ge=0, le=10, description="Retries of a failed page read.")
    retry_backoff: float = Field(0.5, ge=0, le=60, description="First retry delay, seconds.")

    @field_validator("extension_fields")
    @classmethod
    def _extension_fields(cls, value: dict[str, str]) -> dict[str, str]:
        return check(value)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return check_target_url(value, "base_url")

    @property
    def endpoint(self) -> str:
        """The Human_Resources service URL."""
        return f"{self.base_url}/ccx/service/{self.tenant}/Human_Resources/{self.api_version}"

    @property
    def principal(self) -> str:
        """The WS-Security user name, ``user@tenant``."""
        return self.username if "@" in self.username else f"{self.username}@{self.tenant}"
