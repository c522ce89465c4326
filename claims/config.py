"""Every threshold and limit, declared once with its default and help text.

Precedence, highest first: keyword arguments, environment variables (`CLAIMBOT_<NAME>`), the TOML file
named by `CLAIMBOT_SETTINGS_FILE` (default `claimbot.toml` in the working directory), then the defaults here.
README's settings table is checked against this class by a test.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

SETTINGS_FILE_ENV = "CLAIMBOT_SETTINGS_FILE"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMBOT_", extra="ignore", validate_default=True)

    # --- storage -------------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Folder holding claims.db and the photo store.")

    # --- decision policy -----------------------------------------------------------------------
    vision_confidence_threshold: float = Field(
        0.60, ge=0, le=1, description="Calibrated confidence below which a photo's label goes to a person."
    )
    damaged_probability_threshold: float = Field(
        0.5, ge=0, le=1, description="Probability of 'damaged' above which a photo counts as showing damage."
    )
    frustration_threshold: float = Field(
        0.5, ge=0, le=1, description="Frustration score at or above which a claim goes to a person, priority high."
    )
    claim_window_days: int = Field(
        30, ge=0, description="Days after delivery within which a claim can be auto-approved."
    )
    auto_approve_max_value: float = Field(
        250.0, ge=0, description="Order value above which a person must approve (in the order's currency)."
    )
    default_resolution: dict[str, str] = Field(
        default_factory=lambda: {
            "crushed_packaging": "refund",
            "torn_packaging": "refund",
            "water_damage": "replacement",
            "broken": "replacement",
            "surface_damage": "refund",
        },
        description="Resolution when the customer asks for none, per damage label (refund or replacement).",
    )

    # --- fraud ---------------------------------------------------------------------------------
    phash_max_distance: int = Field(
        49,
        ge=0,
        le=64,
        description="Photo-hash distance (differing bits of 256) at or below which two photos match; "
        "chosen by bench/fraud_phash.py.",
    )
    velocity_max_claims: int = Field(
        3, ge=1, description="Claims from one email within the window before it is flagged."
    )
    velocity_window_hours: float = Field(72.0, gt=0, description="Window for the claim-velocity check, in hours.")

    # --- photo quality -------------------------------------------------------------------------
    min_photo_side: int = Field(
        224, ge=1, description="Photos with a shorter side below this many pixels are too small."
    )
    dark_brightness: float = Field(40.0, ge=0, le=255, description="Mean luma (0-255) below which a photo is too dark.")
    blur_sharpness: float = Field(12.0, ge=0, description="Laplacian variance below which a photo is too blurry.")
    uniform_stddev: float = Field(
        6.0, ge=0, description="Luma standard deviation below which a photo is nearly uniform."
    )

    # --- input limits --------------------------------------------------------------------------
    max_photos: int = Field(8, ge=1, description="Most photos accepted in one submission.")
    max_photo_bytes: int = Field(25 * 1024 * 1024, ge=1024, description="Largest photo file accepted, in bytes.")
    max_image_pixels: int = Field(
        60_000_000, ge=10_000, description="Largest decoded image (width x height); larger is a decompression bomb."
    )
    min_description_chars: int = Field(3, ge=1, description="Shortest description accepted.")
    max_description_chars: int = Field(5000, ge=10, description="Longest description accepted.")
    max_message_chars: int = Field(5000, ge=10, description="Longest follow-up message or reviewer note accepted.")

    # --- review --------------------------------------------------------------------------------
    sla_high_hours: float = Field(1.0, gt=0, description="Time to a decision for high-priority cases, in hours.")
    sla_normal_hours: float = Field(24.0, gt=0, description="Time to a decision for normal-priority cases, in hours.")
    review_lock_minutes: float = Field(
        15.0, gt=0, description="How long opening a case keeps it assigned to a reviewer."
    )
    reviewers: str = Field(
        "", description="Reviewer accounts as 'name:password,name2:password2'. Empty: one random account is created."
    )

    # --- logins --------------------------------------------------------------------------------
    login_max_failures: int = Field(
        5, ge=1, description="Failed reviewer logins for one name before its attempts wait out a back-off."
    )
    login_max_failures_per_ip: int = Field(
        20,
        ge=1,
        description="Failed reviewer logins from one IP address, any names, before its attempts wait out a back-off.",
    )
    login_backoff_seconds: float = Field(
        30.0,
        gt=0,
        description="First back-off once a login limit is reached; doubles with each further failure, in seconds.",
    )
    login_backoff_max_seconds: float = Field(900.0, gt=0, description="Longest login back-off, in seconds.")
    login_window_seconds: float = Field(
        3600.0,
        gt=0,
        description="How long a failed login counts towards the limits, in seconds (never less than the longest back-off).",
    )
    login_trusted_days: float = Field(
        30.0,
        ge=0,
        description="Days an IP address where a name signed in stays trusted: only its own failures hold that name back there.",
    )

    # --- rate limits ---------------------------------------------------------------------------
    submissions_per_email_per_hour: int = Field(
        20, ge=1, description="Submissions accepted from one email per hour before further ones are refused."
    )

    # --- intake budgets ---
    max_pixels_per_claim: int = Field(
        150_000_000,
        ge=10_000,
        description="Most decoded pixels in one submission (a new claim or one addition to it), summed over its photos.",
    )
    max_decode_pixels_in_flight: int = Field(
        100_000_000, ge=10_000, description="Most decoded pixels held by photo decoding at once in one server process."
    )
    decode_wait_seconds: float = Field(
        5.0, ge=0, description="How long a photo waits for decoding room before the customer is asked to retry."
    )
    max_concurrent_submissions_per_ip: int = Field(
        2, ge=1, description="Submissions (new claims and additions) processed at once for one client address."
    )
    claims_per_ip_per_hour: int = Field(
        20, ge=1, description="New claims accepted from one client address per hour before further ones are refused."
    )
    claims_per_order_per_hour: int = Field(
        5, ge=1, description="New claims accepted on one order number per hour before further ones are refused."
    )

    # --- workflows -----------------------------------------------------------------------------
    webhook_url: str = Field(
        "", description="Where approved refunds and replacements are POSTed; empty: the local ledger."
    )
    webhook_secret: str = Field("", description="HMAC-SHA256 key for the X-Signature header of webhook posts.")
    webhook_tolerance_seconds: float = Field(
        300.0, gt=0, description="How far a webhook's signed timestamp may be from the receiver's clock, in seconds."
    )
    webhook_max_attempts: int = Field(6, ge=1, description="Delivery attempts before a message is dead-lettered.")
    webhook_backoff_seconds: float = Field(1.0, ge=0, description="First retry delay; doubles on each further try.")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="HTTP timeout for one webhook post.")
    replacement_ship_days: int = Field(
        2, ge=0, description="Business days within which a replacement ships; told to the customer."
    )

    # --- serving -------------------------------------------------------------------------------
    vision_weights: str = Field(
        "", description="Head weights from `python -m vision_models.train`; empty: the shipped ones."
    )
    torch_threads: int = Field(0, ge=0, description="Threads torch may use per process; 0 lets the service choose.")
    concurrency_limit: int = Field(4, ge=1, description="Claim submissions processed at once by the server.")

    # --- web perimeter ---------------------------------------------------------------------------
    cors_allow_origins: str = Field(
        "",
        description="Other sites allowed to call the apps from a browser, comma-separated origins "
        "(https://shop.example.com); empty: none.",
    )
    trust_forwarded_headers: bool = Field(
        False,
        description="Take the scheme and client address from X-Forwarded-Proto and X-Forwarded-For "
        "(only behind a proxy that sets them).",
    )
    session_idle_minutes: float = Field(
        30.0, gt=0, description="Minutes without a request after which a reviewer session ends."
    )
    session_max_hours: float = Field(12.0, gt=0, description="Hours after sign-in at which a reviewer session ends.")
    max_upload_request_bytes: int = Field(
        0, ge=0, description="Largest upload request, in bytes; 0: max_photos x max_photo_bytes plus 1 MiB."
    )
    upload_bytes_per_ip_per_hour: int = Field(
        300 * 1024 * 1024, ge=1, description="Bytes one client address may upload per hour (300 MiB)."
    )
    max_request_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Largest body of any other request (API calls, sign-in), in bytes."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get(SETTINGS_FILE_ENV, "claimbot.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        # An unsigned webhook would let anyone who can reach the receiver forge refunds.
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("webhook_url is set but webhook_secret is empty: set CLAIMBOT_WEBHOOK_SECRET too")
        return self

    def sla_hours(self, priority: str) -> float:
        return self.sla_high_hours if priority == "high" else self.sla_normal_hours


def load_settings(**overrides) -> Settings:
    return Settings(**overrides)
