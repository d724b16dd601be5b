"""The worker's parts wired in the test's process, as ``services.gaps.worker`` wires them (no
faust, no Kafka consumer): the batch handler the consumer pipeline runs inside its transaction
(``handler(session, events) -> status changes``) and the re-evaluation."""

from __future__ import annotations

from services.gaps.adapters.unit_of_work import SqlUnitOfWork, unit_of_work_factory
from services.gaps.app.batch import GapsBatch
from services.gaps.app.evaluation import Evaluator
from services.gaps.app.reevaluation import Reevaluation
from services.gaps.routes import ROUTES
from services.gaps.settings import GapsSettings


def worker_handler(settings: GapsSettings):
    """``ROUTES`` over the SQL unit of work, as ``BatchConsumer.for_routes`` runs it."""
    return ROUTES.handler(SqlUnitOfWork.for_session, GapsBatch.starter(Evaluator(settings, settings.load_codes())))


def reevaluation(settings: GapsSettings, db, producer) -> Reevaluation:
    return Reevaluation(unit_of_work_factory(db, producer), Evaluator(settings, settings.load_codes()),
                        chunk=settings.reevaluate_chunk)
