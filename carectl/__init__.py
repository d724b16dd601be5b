"""carectl: the platform's operator tooling (CLI, synthetic population generator, MLLP client)."""
