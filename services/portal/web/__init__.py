"""The portal's HTTP entry points: the member's pages (``pages.py``, ``signin_pages.py``) and
the FHIR patient-access API (``fhir.py``, ``fhir_resources.py``)."""
