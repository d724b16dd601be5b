"""The hospitalist's alerts page (server-rendered, same stack and style as the nurse page):
``hospitalist_pages.hospitalist_router``, included by the admissions API."""
