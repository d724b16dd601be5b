"""Pure rules and value types of the notifications service: no faust, kafka, sqlalchemy,
fastapi, httpx or aiohttp imports. Decisions return values."""
