"""The gaps HTTP layer: the routes (``gaps_api.py``), the response models (``models.py``) and the
FHIR care-gaps document (``fhir.py``), over the use cases of ``app/``."""
