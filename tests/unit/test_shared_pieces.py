"""Small shared pieces: cursors, settings, the consumer's lag gauge."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiokafka import TopicPartition

from shared import metrics
from shared.bus import EventConsumer
from shared.errors import DomainError
from shared.paging import decode_cursor, encode_cursor
from shared.settings import ServiceSettings


def test_a_cursor_reads_back_and_a_forged_one_is_refused() -> None:
    assert decode_cursor(encode_cursor("41")) == "41"
    with pytest.raises(DomainError):
        decode_cursor("%%%")


def test_settings_read_the_documented_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("HELPDESK_TOPIC_PREFIX", "x.")
    monkeypatch.setenv("HELPDESK_DB_PREFIX", "y_")
    settings = ServiceSettings(service_name="sla")
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert (settings.group_id, settings.database_name) == ("x.sla", "y_sla")


def test_the_lag_of_partitions_a_rebalance_took_away_is_no_longer_reported() -> None:
    settings = SimpleNamespace(service_name="lag-unit", topic_prefix="")
    consumer = EventConsumer(None, settings, None, None)  # type: ignore[arg-type]
    owned = {TopicPartition("t", 0), TopicPartition("t", 1)}
    kafka = SimpleNamespace(highwater=lambda tp: 10, assignment=lambda: owned)

    def message(partition: int, offset: int) -> SimpleNamespace:
        record = SimpleNamespace(topic="t", partition=partition, offset=offset)
        return SimpleNamespace(raw_message=record, consumer=kafka)

    def reported() -> dict[str, float]:
        samples = metrics.CONSUMER_LAG.collect()[0].samples
        return {
            s.labels["partition"]: s.value for s in samples if s.labels["service"] == "lag-unit"
        }

    consumer._observe_lag(message(0, 4))
    consumer._observe_lag(message(1, 8))
    assert reported() == {"0": 5.0, "1": 1.0}
    owned.discard(TopicPartition("t", 0))  # partition 0 went to another replica
    consumer._observe_lag(message(1, 9))
    assert reported() == {"1": 0.0}
