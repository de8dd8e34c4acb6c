"""Settings every service shares, read from the environment (pydantic-settings)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Connection and runtime settings; each service subclasses it with its own name and port."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    service_name: str = Field(default="service", description="Kafka group id and database name")
    http_host: str = Field(default="127.0.0.1", validation_alias="HTTP_HOST")
    http_port: int = Field(default=8000, validation_alias="HTTP_PORT")
    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    mongodb_uri: str = Field(
        default="mongodb://127.0.0.1:27017/?directConnection=true",
        validation_alias="MONGODB_URI",
    )
    topic_prefix: str = Field(
        default="",
        validation_alias="HELPDESK_TOPIC_PREFIX",
        description="Prepended to every topic and group id; lets tests run side by side",
    )
    db_prefix: str = Field(
        default="",
        validation_alias="HELPDESK_DB_PREFIX",
        description="Prepended to the service's database name; lets tests run side by side",
    )
    jwt_secret: str = Field(default="", validation_alias="HELPDESK_JWT_SECRET")
    jwks_url: str = Field(default="", validation_alias="HELPDESK_JWKS_URL")
    jwt_audience: str = Field(default="", validation_alias="HELPDESK_JWT_AUDIENCE")
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("LOG_LEVEL"))
    topic_partitions: int = Field(default=3, validation_alias="HELPDESK_TOPIC_PARTITIONS")
    handler_attempts: int = Field(
        default=4,
        ge=1,
        validation_alias="HELPDESK_HANDLER_ATTEMPTS",
        description="Tries of a failing handler before its message is dead-lettered",
    )
    dead_letter_streak_unready: int = Field(
        default=20,
        ge=1,
        validation_alias="HELPDESK_DEAD_LETTER_STREAK_UNREADY",
        description="Messages dead-lettered in a row (none handled between) after which /readyz "
        "reports the consumer as failing",
    )
    retry_backoff_seconds: float = Field(
        default=0.2, ge=0, validation_alias="HELPDESK_RETRY_BACKOFF_SECONDS"
    )
    outbox_sweep_seconds: float = Field(
        default=2.0, gt=0, validation_alias="HELPDESK_OUTBOX_SWEEP_SECONDS"
    )
    max_body_bytes: int = Field(default=1_048_576, validation_alias="HELPDESK_MAX_BODY_BYTES")

    @property
    def database_name(self) -> str:
        return f"{self.db_prefix}{self.service_name}"

    @property
    def group_id(self) -> str:
        return f"{self.topic_prefix}{self.service_name}"
