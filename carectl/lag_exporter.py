"""Consumer-lag exporter: lag per consumer group, topic and partition, seen from the broker.

Runs as its own process (``python -m carectl.lag_exporter``, port ``LAG_EXPORTER_PORT``, 8050)
so lag stays visible when a worker is down — exactly when it matters. Every ``interval`` it
lists the platform's consumer groups (``<prefix>ccp-*``), their committed offsets and the
partitions' high watermarks, and exports ``ccp_consumer_lag{group,topic,partition}``.
"""

from __future__ import annotations

import logging
import os
import time

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition, Consumer
from confluent_kafka.admin import AdminClient
from prometheus_client import Gauge, start_http_server

from shared.metrics import CONSUMER_LAG
from shared.settings import CommonSettings

log = logging.getLogger("carectl.lag_exporter")
LAST_SCRAPE = Gauge("ccp_lag_exporter_last_success_timestamp_seconds", "When lag was last read from the broker")


def collect(settings: CommonSettings, admin: AdminClient, reader: Consumer, timeout: float = 10.0) -> dict:
    prefix = settings.topic_prefix + "ccp-"
    groups = [g.group_id for g in admin.list_consumer_groups(request_timeout=timeout).result(timeout).valid
              if g.group_id.startswith(prefix)]
    out: dict[tuple[str, str, int], int] = {}
    if not groups:
        return out
    for group in groups:
        # the admin API takes one group per request
        fut = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)],
                                                request_timeout=timeout)[group]
        res = fut.result(timeout)
        for tp in res.topic_partitions or []:
            if tp.offset < 0:
                continue
            low, high = reader.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=timeout)
            out[(group, tp.topic, tp.partition)] = max(0, high - tp.offset)
    return out


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    settings = CommonSettings()
    port = int(os.environ.get("LAG_EXPORTER_PORT", "8050"))
    interval = float(os.environ.get("LAG_EXPORTER_INTERVAL", "10"))
    start_http_server(port, addr=settings.http_host)
    admin = AdminClient(settings.kafka_client_config())
    reader = Consumer({**settings.kafka_client_config(), "group.id": "ccp-lag-exporter-reader",
                       "enable.auto.commit": False})
    log.info("lag exporter on :%d every %.0fs", port, interval)
    while True:
        try:
            for (group, topic, partition), lag in collect(settings, admin, reader).items():
                CONSUMER_LAG.labels(group, topic, str(partition)).set(lag)
            LAST_SCRAPE.set_to_current_time()
        except Exception as exc:  # noqa: BLE001 - keep exporting; the staleness gauge shows trouble
            log.warning("could not read consumer lag: %s: %s", exc.__class__.__name__, exc)
        time.sleep(interval)


if __name__ == "__main__":
    main()
