"""Admissions' adapters: the SQLAlchemy tables (``tables``), the repositories of the use cases'
ports (``repositories``, ``feed_quirks``'s report), the unit of work (``unit_of_work``), the
database bootstrap (``database``), the gateway's write-behind stores (``dedupe``: accepted ACKs;
``feed_quirks``: per-sender counts) and the tail of ``alerts.hospitalist`` behind the API's
Server-Sent Events (``alert_tail``)."""
