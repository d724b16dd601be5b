"""Common ground of the platform's services: the event contract, the topic registry, Kafka,
database, metrics, settings and calendar helpers. Services import only from here, never from
each other."""
