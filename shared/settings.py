"""Settings common to every process. Each service subclasses ``CommonSettings``.

Values come from the environment (names are the field names in upper case, e.g.
``KAFKA_BOOTSTRAP``, ``DATABASE_URL``); nothing is read at import time — a process builds its
settings object once in ``__main__`` and passes it down.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False, frozen=True)

    SERVICE: ClassVar[str] = "ccp"

    environment: Literal["development", "test", "production"] = Field(
        default="development", description="production refuses default secrets and dev users"
    )
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(default=None, description="CA bundle that signed the broker's certificate")
    kafka_ssl_certfile: str | None = None
    kafka_ssl_keyfile: str | None = None
    topic_prefix: str = Field(default="", description="prepended to every topic name (tests, tenants)")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: an SQLite file under VAR_DIR (the embedded demo default)"
    )
    var_dir: Path = Field(default=Path("var"), description="where embedded SQLite files and state live")
    http_host: str = Field(default="127.0.0.1", description="interface the HTTP servers bind (0.0.0.0 in containers)")
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    holidays_file: str | None = Field(default=None, description="extra/removed holidays, one ISO date per line")
    users_file: str | None = Field(default=None, description="API users, roles and hashed API keys (YAML)")
    producer_timeout_s: float = Field(default=10.0, description="how long a write waits for Kafka's acknowledgement")
    producer_max_in_flight: int = Field(default=50_000, description="bounded producer queue (messages)")

    # ------------------------------------------------------------------ derived
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / f'{self.SERVICE}.db').resolve()}"

    def topic(self, name: str) -> str:
        return self.topic_prefix + name

    def group_id(self, purpose: str = "worker") -> str:
        return f"{self.topic_prefix}ccp-{self.SERVICE}-{purpose}"

    def kafka_client_config(self) -> dict[str, object]:
        """librdkafka (confluent-kafka) settings for the bootstrap and security options."""
        cfg: dict[str, object] = {
            "bootstrap.servers": self.kafka_bootstrap,
            "security.protocol": self.kafka_security_protocol,
        }
        if self.kafka_security_protocol.startswith("SASL"):
            cfg["sasl.mechanism"] = self.kafka_sasl_mechanism
            cfg["sasl.username"] = self.kafka_sasl_username or ""
            cfg["sasl.password"] = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else ""
        if self.kafka_security_protocol in ("SSL", "SASL_SSL"):
            if self.kafka_ssl_cafile:
                cfg["ssl.ca.location"] = self.kafka_ssl_cafile
            if self.kafka_ssl_certfile:
                cfg["ssl.certificate.location"] = self.kafka_ssl_certfile
            if self.kafka_ssl_keyfile:
                cfg["ssl.key.location"] = self.kafka_ssl_keyfile
        return cfg

    def is_production(self) -> bool:
        return self.environment == "production"
