-- Live updates with KAFKA_BROKERS: projector instances consume Kafka
-- partitions concurrently, so no single one knows how far the read models
-- reflect the event store. Each records here, after its read-model write and
-- before it acknowledges the message, that its projection has handled the
-- event (one bit per projection in handled). The place every read model
-- reflects is the longest prefix of the event store, in tail order, whose
-- events have every bit set: it is kept as the checkpoint named 'realtime'
-- and announced on NOTIFY contacts_committed. Rows at or before it are
-- deleted as it moves, so the table holds only the events in flight.
CREATE TABLE realtime_handled (
    position bigint PRIMARY KEY, -- the event's (messages from Kafka carry no transaction id)
    handled  integer NOT NULL
);
