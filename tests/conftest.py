"""Fixtures: the real Kafka broker and FerretDB that `make test` started (or, with
HELPDESK_TEST_INFRA=testcontainers, Kafka and MongoDB containers), and per-test isolation."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from pymongo.uri_parser import parse_uri

from shared.smtp_sink import MailSink, start
from tests.helpers import Infra, Isolation

LOCAL_MONGO = "mongodb://127.0.0.1:27017/?directConnection=true"


def _reachable(hostport: str) -> bool:
    host, _, port = hostport.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    if os.environ.get("HELPDESK_TEST_INFRA") == "testcontainers":
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        with (
            KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft() as kafka,
            MongoDbContainer("mongo:7") as mongo,
        ):
            yield Infra(kafka.get_bootstrap_server(), mongo.get_connection_url())
        return
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    mongodb_uri = os.environ.get("MONGODB_URI", LOCAL_MONGO)
    mongo_host, mongo_port = parse_uri(mongodb_uri)["nodelist"][0]
    for name, hostport in (("Kafka", kafka), ("MongoDB/FerretDB", f"{mongo_host}:{mongo_port}")):
        if not _reachable(hostport):
            pytest.fail(
                f"{name} is not reachable at {hostport}: run `make test` (or `make infra-up`)"
            )
    yield Infra(kafka, mongodb_uri)


@pytest.fixture
async def isolated(infra: Infra) -> AsyncIterator[Isolation]:
    iso = Isolation(infra)
    yield iso
    await iso.cleanup()


@pytest.fixture
def mail_sink() -> Iterator[tuple[MailSink, int]]:
    """The SMTP relay the services send to: a real server on loopback keeping what it gets."""
    sink = MailSink()
    controller = start(sink)
    yield sink, controller.port
    controller.stop()
