"""The gaps use cases over repository / unit-of-work protocols (``ports.py``): the worker's batch
(``handlers.py`` + ``batch.py`` + ``evaluation.py``), the re-evaluation and the maintenance tick,
and the API's reads (``queries.py``). No SQL, no Kafka, no HTTP."""
