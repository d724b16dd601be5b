"""Builds the real ``app.ports.LoadContext``: the database, the Kafka producer, the report folder
and pyx12, from the settings."""

from __future__ import annotations

from shared.db import Database
from shared.kafka import EventProducer

from ..app.ports import LoadConfig, LoadContext
from ..settings import IntakeSettings
from .database import open_database
from .files import ReportFolder
from .kafka_sink import KafkaSink
from .repositories import SqlClaimVersions, SqlLoadRecords, SqlRosterSnapshots
from .validator import Pyx12Validator


def database(settings: IntakeSettings) -> Database:
    return open_database(settings.resolved_database_url())


def load_config(settings: IntakeSettings) -> LoadConfig:
    return LoadConfig(batch_size=settings.ingest_batch, rejections_limit=settings.report_rejections_limit,
                      time_budget_s=settings.load_time_budget_s, max_term_fraction=settings.max_term_fraction)


def load_context(settings: IntakeSettings, db: Database, producer: EventProducer) -> LoadContext:
    folder = ReportFolder(settings.reports_path())
    return LoadContext(
        config=load_config(settings),
        sink=lambda on_confirmed: KafkaSink(settings, producer, settings.ingest_batch, on_confirmed),
        records=SqlLoadRecords(db), roster=SqlRosterSnapshots(db), claims=SqlClaimVersions(db),
        files=folder, validator=Pyx12Validator(folder),
    )
