"""``driftline events``: read events back from Kafka, both clocks side by side."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from driftline.app.cli.common import Namespace, emit_json, refuse_with
from driftline.app.cli.services import services_of

if TYPE_CHECKING:
    from driftline.read.tail import ReadRecord

__all__ = ["events_app"]

events_app = typer.Typer(help="Read events back from Kafka.")


@events_app.command("tail")
def events_tail(
    ctx: typer.Context,
    namespace: Namespace = None,
    last: Annotated[int, typer.Option("--last", min=1, help="records per partition")] = 10,
    from_beginning: Annotated[bool, typer.Option(help="every record, not the last N")] = False,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep reading new events")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Print events as stored: partition, offset, ingest time, event time, lateness."""
    refuse_with(ctx, "last", "from_beginning", from_beginning)
    from driftline.adapters.kafka_reads import reading_consumer
    from driftline.read.tail import read_events

    services = services_of(ctx, namespace)
    topic = services.settings.topics.events
    try:
        with reading_consumer(services.kafka) as consumer:
            for record in read_events(
                consumer,
                topic,
                last=None if from_beginning else last,
                follow=follow,
                codec=services.event_codec,
            ):
                _print(record, as_json)
    except KeyboardInterrupt:
        pass


def _print(record: ReadRecord, as_json: bool) -> None:
    """One record: a JSON line, or partition@offset, what it is and both clocks."""
    row = record.to_dict()
    if as_json:
        emit_json(row)
    elif row.get("kind") == "tick":
        sys.stdout.write(
            f"p{row['partition']}@{row['offset']} tick        "
            f"ingest={row['ingest_time']} (watermark tick from {row['source']})\n"
        )
    elif record.event is not None:
        sys.stdout.write(
            f"p{row['partition']}@{row['offset']} {row['kind']:<11} "
            f"{row['event_id']} key={row['key']} event={row['event_time']} "
            f"ingest={row['ingest_time']} lateness={row['lateness_s']:.1f}s\n"
        )
    else:
        sys.stdout.write(f"p{row['partition']}@{row['offset']} UNDECODABLE {row['error']}\n")
