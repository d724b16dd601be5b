"""The intake API's routes (``loads.py``) and response shapes (``schemas.py``)."""
