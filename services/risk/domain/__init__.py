"""Pure rules of the risk service: no faust, kafka, sqlalchemy, fastapi or httpx here."""
