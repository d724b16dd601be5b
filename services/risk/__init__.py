"""risk: CMS-HCC scores and utilization become risk tiers; ED use against practice hours.

The service's shape (issue 16): ``domain/`` pure rules, ``app/`` use cases over repository
protocols, ``adapters/`` SQLAlchemy and Kafka, ``routes.py`` the (topic, event type) table,
and thin entry points ``worker.py``, ``api.py``, ``cli.py``.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
CONTRACTS_DIR = PACKAGE_DIR / "contracts"
