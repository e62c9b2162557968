// Package eventstore is the PostgreSQL event store: the source of truth.
// Streams are appended with optimistic concurrency, read back by stream, and
// read in global order by tailers that never skip a late-committing event.
package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Errors callers branch on.
var (
	// ErrConcurrency: the stream moved on since it was read (or a stream that
	// was expected to be new already exists).
	ErrConcurrency = errors.New("eventstore: concurrency conflict")
	// ErrDuplicateRequest: the Idempotency-Key of this append was used before.
	ErrDuplicateRequest = errors.New("eventstore: idempotency key already used")
)

// ClaimTakenError: a per-account unique value belongs to another stream.
type ClaimTakenError struct {
	Kind, Value, Owner string
}

func (e *ClaimTakenError) Error() string {
	return fmt.Sprintf("eventstore: %s %q is already used by %s", e.Kind, e.Value, e.Owner)
}

// Metadata travels with every event: who did it and in answer to what.
type Metadata struct {
	Actor         string `json:"actor,omitempty"`      // user id, or "key:<id>" for API keys
	ActorType     string `json:"actor_type,omitempty"` // "user", "api_key", "system"
	RequestID     string `json:"request_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	CausationID   string `json:"causation_id,omitempty"`
}

// Event is a recorded event: the envelope plus its JSON data.
type Event struct {
	ID            string          `json:"event_id"`
	Position      int64           `json:"position"`
	TxID          uint64          `json:"-"`
	AccountID     string          `json:"account_id"`
	StreamType    string          `json:"stream_type"`
	StreamID      string          `json:"stream_id"`
	Version       int64           `json:"version"`
	Type          string          `json:"event_type"`
	SchemaVersion int             `json:"schema_version"`
	Data          json.RawMessage `json:"data"`
	Metadata      Metadata        `json:"metadata"`
	RecordedAt    time.Time       `json:"recorded_at"`
}

// Cursor is a tailer's place in the global order: the writing transaction and
// the position of the last event it has seen. The zero Cursor is the start.
type Cursor struct {
	TxID     uint64 `json:"tx_id"`
	Position int64  `json:"position"`
}

// After reports the cursor that follows e.
func (e Event) Cursor() Cursor { return Cursor{TxID: e.TxID, Position: e.Position} }

func (c Cursor) String() string {
	return strconv.FormatUint(c.TxID, 10) + ":" + strconv.FormatInt(c.Position, 10)
}

// NewEvent is an event to append.
type NewEvent struct {
	ID            string // generated when empty
	Type          string
	SchemaVersion int // 1 when zero
	Data          []byte
}

// StreamAppend appends events to one stream that is expected to be at
// ExpectedVersion (0: the stream must not exist yet).
type StreamAppend struct {
	AccountID       string
	StreamType      string
	StreamID        string
	ExpectedVersion int64
	Events          []NewEvent
}

// Claim is a per-account unique value owned by a stream.
type Claim struct {
	AccountID string
	Kind      string
	Value     string
	StreamID  string
}

// AppendRequest is one atomic write: any number of streams, the unique values
// they take and give up. Either all of it commits or none.
type AppendRequest struct {
	Streams  []StreamAppend
	Claims   []Claim
	Releases []Claim
	// RecordedAt stamps every event of the request; zero means now. Commands
	// pass their clock's time so the state they return carries exactly the
	// timestamps the read models will show.
	RecordedAt time.Time
}

type requestInfoKey struct{}

// RequestInfo is the request-scoped context the store records with events.
type RequestInfo struct {
	Metadata        Metadata
	IdempotencyKey  string
	IdempotencyHash string
	// IdempotencyOwner is the reservation (ReserveIdempotencyKey) the
	// request holds on its key; empty: Append records the key itself.
	IdempotencyOwner string
}

// WithRequestInfo attaches metadata (and an optional idempotency key) to ctx;
// every Append made under ctx records it.
func WithRequestInfo(ctx context.Context, info RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, info)
}

// RequestInfoFrom returns what WithRequestInfo attached.
func RequestInfoFrom(ctx context.Context) RequestInfo {
	info, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return info
}
