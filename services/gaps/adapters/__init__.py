"""The gaps adapters: the tables and their rows, the SQL repositories and unit of work, the
database bootstrap."""
