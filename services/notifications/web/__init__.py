"""Notifications' HTTP surface on top of ``app/``: the subscription and delivery-log routes
(``subscriptions.py``, bodies in ``schemas.py``) and the FHIR endpoint ``/fhir`` (``fhir.py``);
``api.py`` wires and mounts them."""
