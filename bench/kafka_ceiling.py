#!/usr/bin/env python3
"""The raw ceiling: Kafka's own kafka-producer-perf-test (from the resolved jars) on this machine,
with the producer settings our services use (acks=all, idempotent, lz4, linger 5 ms), so our
ingest figures can be read as a fraction of the broker's limit."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from common import REPO, ensure_kafka, machine, report


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--size", type=int, default=600, help="bytes per record (an ADT event is ~1-2 KB as JSON)")
    args = ap.parse_args()
    print(machine())
    ensure_kafka()
    kafka = REPO / "deploy" / "kafka"
    cmd = ["java", "-Xmx512m", "-cp", str(kafka / "lib" / "*"), f"-Dlog4j2.configurationFile={kafka / 'log4j2.yaml'}",
           "org.apache.kafka.tools.ProducerPerformance", "--topic", "bench.ceiling", "--num-records", str(args.records),
           "--record-size", str(args.size), "--throughput", "-1", "--producer-props", "bootstrap.servers=127.0.0.1:9092",
           "acks=all", "enable.idempotence=true", "compression.type=lz4", "linger.ms=5"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    text = out.stdout + out.stderr
    last = [l for l in text.splitlines() if "records sent" in l]
    if not last:
        print(text[-3000:])
        sys.exit(1)
    line = last[-1]
    print(line)
    rate = float(re.search(r"([\d.]+) records/sec", line).group(1))
    report("Kafka producer ceiling (kafka-producer-perf-test, acks=all, idempotent, lz4)", rate, "records/s",
           note=f"{args.size}-byte records")


if __name__ == "__main__":
    main()
