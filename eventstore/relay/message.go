package relay

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"contacts/eventstore"
)

// The Kafka message of one event (see README.md in this folder for analysts).
//
// Value: the event as JSON, exactly eventstore.Event's JSON encoding:
//
//	{"event_id":"0192…","position":42,"account_id":"…","stream_type":"contact",
//	 "stream_id":"…","version":3,"event_type":"contact.updated","schema_version":1,
//	 "data":{…},"metadata":{"actor":"…","actor_type":"user","request_id":"…"},
//	 "recorded_at":"2025-01-02T03:04:05.123456Z"}
//
// The data of contact events is as stored: personal fields sealed under the
// contact's data key ("pii"; eventstore/keys.go), unreadable once erased.
//
// Key: the stream id, so every event of one stream lands on one partition,
// in version order.
//
// Headers (watermill metadata; all values are strings): the Header*
// constants below, plus "_watermill_message_uuid" (= event_id), which
// watermill-kafka adds for the message UUID.
//
// Delivery is at least once: a consumer may see an event again (also after
// newer events of its stream). Deduplicate by event_id, or by
// (stream_id, version), which is what projections do.
const (
	HeaderEventID       = "event_id"
	HeaderEventType     = "event_type"
	HeaderStreamType    = "stream_type"
	HeaderStreamID      = "stream_id"
	HeaderAccountID     = "account_id"
	HeaderVersion       = "version"        // the event's version in its stream, 1, 2, …
	HeaderPosition      = "position"       // global position in the event store
	HeaderSchemaVersion = "schema_version" // version of the data's schema for its event type
	HeaderRecordedAt    = "recorded_at"    // RFC 3339 with nanoseconds, UTC
	HeaderContentType   = "content-type"

	// ContentType is the value of the content-type header.
	ContentType = "application/json"
)

// ErrMalformed marks a message that is not an event envelope. Redelivering
// it cannot help; consumers set it aside (kafkaconsumer sends it to the
// poison topic).
var ErrMalformed = errors.New("relay: malformed event message")

// Encode turns an event into its watermill message: UUID = event id,
// payload = the JSON envelope, metadata = the documented headers.
func Encode(e eventstore.Event) (*message.Message, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("relay: encoding event %s: %w", e.ID, err)
	}
	msg := message.NewMessage(e.ID, payload)
	md := msg.Metadata
	md.Set(HeaderEventID, e.ID)
	md.Set(HeaderEventType, e.Type)
	md.Set(HeaderStreamType, e.StreamType)
	md.Set(HeaderStreamID, e.StreamID)
	md.Set(HeaderAccountID, e.AccountID)
	md.Set(HeaderVersion, strconv.FormatInt(e.Version, 10))
	md.Set(HeaderPosition, strconv.FormatInt(e.Position, 10))
	md.Set(HeaderSchemaVersion, strconv.Itoa(e.SchemaVersion))
	md.Set(HeaderRecordedAt, e.RecordedAt.UTC().Format(time.RFC3339Nano))
	md.Set(HeaderContentType, ContentType)
	return msg, nil
}

// Decode returns the event a relay message carries. The JSON value is the
// source of truth; headers are a convenience for routing and filtering.
// The returned event has no TxID (it is not part of the envelope). Errors
// wrap ErrMalformed.
func Decode(msg *message.Message) (eventstore.Event, error) {
	var e eventstore.Event
	if err := json.Unmarshal(msg.Payload, &e); err != nil {
		return eventstore.Event{}, fmt.Errorf("%w: message %s: %v", ErrMalformed, msg.UUID, err)
	}
	if e.ID == "" || e.StreamID == "" || e.Version < 1 {
		return eventstore.Event{}, fmt.Errorf("%w: message %s: missing event_id, stream_id or version", ErrMalformed, msg.UUID)
	}
	return e, nil
}

// partitionKey is the Kafka key: the stream id.
func partitionKey(_ string, msg *message.Message) (string, error) {
	k := msg.Metadata.Get(HeaderStreamID)
	if k == "" {
		return "", fmt.Errorf("relay: message %s has no %s", msg.UUID, HeaderStreamID)
	}
	return k, nil
}
