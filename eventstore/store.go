package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the PostgreSQL event store.
type Store struct {
	pool    *pgxpool.Pool
	keys    *keyring // contacts' data keys (keys.go)
	sealed  bool     // reads return personal fields sealed (Sealed)
	metrics *Metrics // nil: appends are not measured
}

// New returns a store over pool; the schema comes from internal/migrations.
func New(pool *pgxpool.Pool, opts ...Option) *Store {
	s := &Store{pool: pool, keys: &keyring{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

const eventColumns = `position, event_id::text, account_id::text, stream_type, stream_id::text,
	stream_version, event_type, schema_version, data, metadata, recorded_at,
	transaction_id::text AS tx_text` // aliased: ORDER BY transaction_id must sort the xid8, not this text

// insertStream appends one stream's events in one statement. The EXISTS guard
// makes a wrong ExpectedVersion (or another account's stream) insert nothing;
// UNIQUE(stream_id, stream_version) catches every concurrent writer.
const insertStream = `
INSERT INTO events (event_id, account_id, stream_type, stream_id, stream_version,
                    event_type, schema_version, data, metadata, recorded_at)
SELECT u.id, $1, $2, $3, u.ver, u.typ, u.sv, u.data, $5, $11
FROM unnest($6::uuid[], $7::bigint[], $8::text[], $9::int[], $10::jsonb[]) AS u(id, ver, typ, sv, data)
WHERE $4::bigint = 0
   OR EXISTS (SELECT 1 FROM events e
              WHERE e.stream_id = $3 AND e.stream_version = $4 AND e.account_id = $1)
RETURNING event_id::text, position, recorded_at, transaction_id::text`

// Append writes req atomically and returns the recorded events in request
// order. Stream inserts run first in the transaction so that its id (and so
// the tail order) is taken after every earlier version of those streams
// committed: per-stream order in the tail equals version order.
func (s *Store) Append(ctx context.Context, req AppendRequest) ([]Event, error) {
	if s.metrics == nil {
		return s.append(ctx, req)
	}
	start := time.Now()
	out, err := s.append(ctx, req)
	s.metrics.observeAppend(ctx, req, err, time.Since(start))
	return out, err
}

func (s *Store) append(ctx context.Context, req AppendRequest) ([]Event, error) {
	if len(req.Streams) == 0 {
		return nil, errors.New("eventstore: append of no streams")
	}
	info := RequestInfoFrom(ctx)
	at := req.RecordedAt
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC().Truncate(time.Microsecond) // PostgreSQL's precision
	md, err := json.Marshal(info.Metadata)
	if err != nil {
		return nil, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("eventstore: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit

	// New streams (most of a bulk import) go in one statement. Streams with
	// an expected version: one guarded insert, or one for all of them when
	// there are several (a bulk update's thousands of contacts in one round
	// trip instead of one each).
	var fresh, existing []StreamAppend
	recorded := map[string]recordedAt{}
	for i := range req.Streams {
		sa := &req.Streams[i]
		for j := range sa.Events {
			if sa.Events[j].ID == "" {
				sa.Events[j].ID = NewID()
			}
		}
	}
	// Personal fields are stored sealed (keys.go); req keeps the clear events
	// this method answers with.
	stored, newKeys, err := s.sealStreams(ctx, tx, req.Streams)
	if err != nil {
		return nil, err
	}
	for _, sa := range stored {
		if sa.ExpectedVersion == 0 {
			fresh = append(fresh, sa)
		} else {
			existing = append(existing, sa)
		}
	}
	if len(existing) == 1 {
		err = appendStream(ctx, tx, existing[0], md, at, recorded)
	} else {
		err = appendExistingStreams(ctx, tx, existing, md, at, recorded)
	}
	if err != nil {
		return nil, err
	}
	if err := appendNewStreams(ctx, tx, fresh, md, at, recorded); err != nil {
		return nil, err
	}
	if err := releaseAll(ctx, tx, req.Releases); err != nil {
		return nil, err
	}
	if err := claimAll(ctx, tx, req.Claims); err != nil {
		return nil, err
	}
	// After the stream inserts: erasures redact their contacts' clear
	// events, including any this request appended.
	if err := erase(ctx, tx, req.Erasures); err != nil {
		return nil, err
	}
	if info.IdempotencyKey != "" {
		var tag pgconn.CommandTag
		if info.IdempotencyOwner != "" {
			// The request reserved its key before it ran (ReserveIdempotencyKey):
			// it appends only while it still holds it, so a request whose lease
			// ran out and was taken over by a retry cannot append twice.
			tag, err = tx.Exec(ctx, `UPDATE idempotency_keys SET appended_at = now()
				WHERE account_id = $1 AND key = $2 AND owner = $3 AND response_status IS NULL`,
				req.Streams[0].AccountID, info.IdempotencyKey, info.IdempotencyOwner)
		} else {
			tag, err = tx.Exec(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, appended_at)
				VALUES ($1, $2, $3, now()) ON CONFLICT DO NOTHING`,
				req.Streams[0].AccountID, info.IdempotencyKey, info.IdempotencyHash)
		}
		if err != nil {
			return nil, fmt.Errorf("eventstore: idempotency key: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil, ErrDuplicateRequest
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, mapError(fmt.Errorf("eventstore: commit: %w", err))
	}
	s.keys.put(newKeys)
	if len(req.Erasures) > 0 {
		ids := make([]string, len(req.Erasures))
		for i, e := range req.Erasures {
			ids[i] = e.ContactID
		}
		s.keys.forget(ids)
	}
	var out []Event
	for _, sa := range req.Streams {
		for i, e := range sa.Events {
			r := recorded[e.ID]
			out = append(out, Event{
				ID: e.ID, Position: r.pos, TxID: r.txid, AccountID: sa.AccountID,
				StreamType: sa.StreamType, StreamID: sa.StreamID, Version: sa.ExpectedVersion + int64(i) + 1,
				Type: e.Type, SchemaVersion: max(e.SchemaVersion, 1), Data: json.RawMessage(e.Data),
				Metadata: info.Metadata, RecordedAt: r.at,
			})
		}
	}
	return out, nil
}

// recordedAt is what the database assigned to an inserted event.
type recordedAt struct {
	pos  int64
	at   time.Time
	txid uint64
}

// collect reads the RETURNING rows of an insert into got and returns how
// many there were.
func collect(rows pgx.Rows, got map[string]recordedAt) (int, error) {
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, txid string
		var r recordedAt
		if err := rows.Scan(&id, &r.pos, &r.at, &txid); err != nil {
			return n, err
		}
		r.txid, _ = strconv.ParseUint(txid, 10, 64)
		got[id] = r
		n++
	}
	return n, mapError(rows.Err())
}

// insertNewStreams appends streams that must not exist yet, all at once:
// UNIQUE(stream_id, stream_version) refuses any that does.
const insertNewStreams = `
INSERT INTO events (event_id, account_id, stream_type, stream_id, stream_version,
                    event_type, schema_version, data, metadata, recorded_at)
SELECT u.id, u.account, u.stype, u.sid, u.ver, u.typ, u.sv, u.data, $1, $2
FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::uuid[], $7::bigint[], $8::text[], $9::int[], $10::jsonb[])
	AS u(id, account, stype, sid, ver, typ, sv, data)
RETURNING event_id::text, position, recorded_at, transaction_id::text`

// eventRows are the events of several streams as the columns of a
// multi-stream insert, in request order.
type eventRows struct {
	ids, accounts, stypes, sids, types, datas []string
	versions, expected                        []int64
	schemas                                   []int32
}

func eventRowsOf(streams []StreamAppend) eventRows {
	var r eventRows
	for _, sa := range streams {
		for i, e := range sa.Events {
			r.ids = append(r.ids, e.ID)
			r.accounts = append(r.accounts, sa.AccountID)
			r.stypes = append(r.stypes, sa.StreamType)
			r.sids = append(r.sids, sa.StreamID)
			r.versions = append(r.versions, sa.ExpectedVersion+int64(i)+1)
			r.expected = append(r.expected, sa.ExpectedVersion)
			r.types = append(r.types, e.Type)
			r.schemas = append(r.schemas, int32(max(e.SchemaVersion, 1)))
			r.datas = append(r.datas, string(e.Data))
		}
	}
	return r
}

func appendNewStreams(ctx context.Context, tx pgx.Tx, streams []StreamAppend, md []byte, at time.Time, got map[string]recordedAt) error {
	r := eventRowsOf(streams)
	if len(r.ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, insertNewStreams, md, at, r.ids, r.accounts, r.stypes, r.sids, r.versions, r.types, r.schemas, r.datas)
	if err != nil {
		return mapError(err)
	}
	_, err = collect(rows, got)
	return err
}

// insertExistingStreams appends to several streams, each guarded like
// insertStream: a stream whose version ExpectedVersion is not this
// account's inserts nothing. Rows are inserted in request order (positions
// follow versions within each stream).
const insertExistingStreams = `
INSERT INTO events (event_id, account_id, stream_type, stream_id, stream_version,
                    event_type, schema_version, data, metadata, recorded_at)
SELECT u.id, u.account, u.stype, u.sid, u.ver, u.typ, u.sv, u.data, $1, $2
FROM unnest($3::uuid[], $4::uuid[], $5::text[], $6::uuid[], $7::bigint[], $8::text[], $9::int[], $10::jsonb[], $11::bigint[])
	WITH ORDINALITY AS u(id, account, stype, sid, ver, typ, sv, data, expected, ord)
WHERE EXISTS (SELECT 1 FROM events e
              WHERE e.stream_id = u.sid AND e.stream_version = u.expected AND e.account_id = u.account)
ORDER BY u.ord
RETURNING event_id::text, position, recorded_at, transaction_id::text`

func appendExistingStreams(ctx context.Context, tx pgx.Tx, streams []StreamAppend, md []byte, at time.Time, got map[string]recordedAt) error {
	r := eventRowsOf(streams)
	if len(r.ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, insertExistingStreams, md, at, r.ids, r.accounts, r.stypes, r.sids, r.versions, r.types, r.schemas, r.datas, r.expected)
	if err != nil {
		return mapError(err)
	}
	inserted, err := collect(rows, got)
	if err != nil {
		return err
	}
	if inserted != len(r.ids) {
		for _, sa := range streams {
			for _, e := range sa.Events {
				if _, ok := got[e.ID]; !ok {
					return fmt.Errorf("%w: stream %s is not at version %d", ErrConcurrency, sa.StreamID, sa.ExpectedVersion)
				}
			}
		}
	}
	return nil
}

// appendStream appends to one stream that must be at ExpectedVersion.
func appendStream(ctx context.Context, tx pgx.Tx, sa StreamAppend, md []byte, at time.Time, got map[string]recordedAt) error {
	n := len(sa.Events)
	if n == 0 {
		return nil
	}
	r := eventRowsOf([]StreamAppend{sa})
	rows, err := tx.Query(ctx, insertStream, sa.AccountID, sa.StreamType, sa.StreamID,
		sa.ExpectedVersion, md, r.ids, r.versions, r.types, r.schemas, r.datas, at)
	if err != nil {
		return mapError(err)
	}
	inserted, err := collect(rows, got)
	if err != nil {
		return err
	}
	if inserted != n {
		// The guard refused: the stream is not at ExpectedVersion (or is not
		// this account's).
		return fmt.Errorf("%w: stream %s is not at version %d", ErrConcurrency, sa.StreamID, sa.ExpectedVersion)
	}
	return nil
}

// releaseAll gives up unique values, each only if still owned by its stream.
func releaseAll(ctx context.Context, tx pgx.Tx, releases []Claim) error {
	if len(releases) == 0 {
		return nil
	}
	a, k, v, sid := claimColumns(releases)
	_, err := tx.Exec(ctx, `DELETE FROM unique_claims c
		USING unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[]) AS r(account, kind, value, stream)
		WHERE c.account_id = r.account AND c.kind = r.kind AND c.value = r.value AND c.stream_id = r.stream`, a, k, v, sid)
	if err != nil {
		return fmt.Errorf("eventstore: release: %w", err)
	}
	return nil
}

// claimAll takes unique values in one statement; for the few already taken
// it finds the owner, which may be the claiming stream itself (a no-op).
func claimAll(ctx context.Context, tx pgx.Tx, claims []Claim) error {
	if len(claims) == 0 {
		return nil
	}
	a, k, v, sid := claimColumns(claims)
	rows, err := tx.Query(ctx, `INSERT INTO unique_claims (account_id, kind, value, stream_id)
		SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[])
		ON CONFLICT DO NOTHING
		RETURNING account_id::text, kind, value, stream_id::text`, a, k, v, sid)
	if err != nil {
		return fmt.Errorf("eventstore: claim: %w", err)
	}
	type key struct{ account, kind, value, stream string }
	inserted := map[key]bool{}
	for rows.Next() {
		var c key
		if err := rows.Scan(&c.account, &c.kind, &c.value, &c.stream); err != nil {
			rows.Close()
			return err
		}
		inserted[c] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("eventstore: claim: %w", err)
	}
	for _, c := range claims {
		if inserted[key{strings.ToLower(c.AccountID), c.Kind, c.Value, strings.ToLower(c.StreamID)}] {
			continue
		}
		// Taken already, or a duplicate within this request: one lookup each.
		if err := claim(ctx, tx, c); err != nil {
			return err
		}
	}
	return nil
}

func claimColumns(cs []Claim) (accounts, kinds, values, streams []string) {
	for _, c := range cs {
		accounts = append(accounts, c.AccountID)
		kinds = append(kinds, c.Kind)
		values = append(values, c.Value)
		streams = append(streams, c.StreamID)
	}
	return accounts, kinds, values, streams
}

// claim takes a unique value for c.StreamID. Claiming a value the stream
// already owns is a no-op; a value owned by another stream is refused.
func claim(ctx context.Context, tx pgx.Tx, c Claim) error {
	for attempt := 0; attempt < 3; attempt++ {
		tag, err := tx.Exec(ctx, `INSERT INTO unique_claims (account_id, kind, value, stream_id)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, c.AccountID, c.Kind, c.Value, c.StreamID)
		if err != nil {
			return fmt.Errorf("eventstore: claim %s: %w", c.Kind, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		// A new statement sees the committed owner (READ COMMITTED).
		var owner string
		err = tx.QueryRow(ctx, `SELECT stream_id::text FROM unique_claims
			WHERE account_id = $1 AND kind = $2 AND value = $3`, c.AccountID, c.Kind, c.Value).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released between our two statements: try again
		}
		if err != nil {
			return fmt.Errorf("eventstore: claim %s: %w", c.Kind, err)
		}
		if owner == c.StreamID {
			return nil
		}
		return &ClaimTakenError{Kind: c.Kind, Value: c.Value, Owner: owner}
	}
	return fmt.Errorf("%w: claim %s %q kept changing", ErrConcurrency, c.Kind, c.Value)
}

// mapError turns a unique violation on the stream version into ErrConcurrency.
func mapError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "events_stream_id_stream_version_key" {
		return fmt.Errorf("%w: %s", ErrConcurrency, pgErr.Detail)
	}
	return err
}

// ReadStream returns the account's stream events with version > afterVersion,
// oldest first. Another account's stream reads as empty.
func (s *Store) ReadStream(ctx context.Context, accountID, streamID string, afterVersion int64) ([]Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE stream_id = $1 AND account_id = $2 AND stream_version > $3
		ORDER BY stream_version`, streamID, accountID, afterVersion)
	if err != nil {
		return nil, fmt.Errorf("eventstore: read stream: %w", err)
	}
	return s.opened(ctx, rows)
}

// ReadStreams returns the events of several streams (any account: this is
// for system readers such as projections), keyed by stream id, oldest first.
func (s *Store) ReadStreams(ctx context.Context, streamIDs []string) (map[string][]Event, error) {
	// QueryExecModeExec: planned for these ids every time (a cached generic
	// plan for "= ANY(array)" may scan the table; see LookupClaims).
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE stream_id = ANY($1::uuid[]) ORDER BY stream_id, stream_version`, pgx.QueryExecModeExec, streamIDs)
	if err != nil {
		return nil, fmt.Errorf("eventstore: read streams: %w", err)
	}
	evs, err := s.opened(ctx, rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Event, len(streamIDs))
	for _, e := range evs {
		out[e.StreamID] = append(out[e.StreamID], e)
	}
	return out, nil
}

// ReadAll returns up to limit events after cur in tail order (transaction id,
// then position). It returns only events of transactions older than every
// transaction still running, so an event committed late is never skipped:
// until its transaction ends, nothing after it is returned either.
func (s *Store) ReadAll(ctx context.Context, after Cursor, limit int) ([]Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE (transaction_id, position) > ($1::text::xid8, $2)
		  AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY transaction_id, position
		LIMIT $3`, strconv.FormatUint(after.TxID, 10), after.Position, limit)
	if err != nil {
		return nil, fmt.Errorf("eventstore: read all: %w", err)
	}
	return s.opened(ctx, rows)
}

// Head is the position of the newest event (0 when empty).
func (s *Store) Head(ctx context.Context) (int64, error) {
	var pos int64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(max(position), 0) FROM events`).Scan(&pos)
	return pos, err
}

// OldestAfter is when the first event after position was recorded: how
// long a consumer at position has been behind (ok false: it is not). Store
// wide, for operators' metrics: no account's data leaves with it.
func (s *Store) OldestAfter(ctx context.Context, position int64) (at time.Time, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT recorded_at FROM events WHERE position > $1 ORDER BY position LIMIT 1`,
		position).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	return at, err == nil, err
}

// AccountProgress is how far consumers at positions have got through one
// account's events: the position of the account's newest event, and for each
// position the account's last event at or before it and how many of the
// account's events come after it. It depends only on the account's own events
// and the positions: another account's writes change nothing in it.
func (s *Store) AccountProgress(ctx context.Context, accountID string, positions []int64) (head int64, reached, behind []int64, err error) {
	err = s.pool.QueryRow(ctx, `SELECT COALESCE(max(position), 0) FROM events WHERE account_id = $1`, accountID).Scan(&head)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("eventstore: account head: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT
			(SELECT COALESCE(max(position), 0) FROM events WHERE account_id = $1 AND position <= p.pos),
			(SELECT count(*) FROM events WHERE account_id = $1 AND position > p.pos)
		FROM unnest($2::bigint[]) WITH ORDINALITY AS p(pos, i) ORDER BY p.i`, accountID, positions)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("eventstore: account progress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r, b int64
		if err := rows.Scan(&r, &b); err != nil {
			return 0, nil, nil, err
		}
		reached, behind = append(reached, r), append(behind, b)
	}
	return head, reached, behind, rows.Err()
}

// LookupClaim returns the stream that owns a unique value, if any.
func (s *Store) LookupClaim(ctx context.Context, accountID, kind, value string) (string, bool, error) {
	var owner string
	err := s.pool.QueryRow(ctx, `SELECT stream_id::text FROM unique_claims
		WHERE account_id = $1 AND kind = $2 AND value = $3`, accountID, kind, value).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("eventstore: lookup claim: %w", err)
	}
	return owner, true, nil
}

// StreamsMentioning lists the account's streams that recorded an event of one
// of eventTypes whose array field holds value (case-insensitively). Callers
// load each stream and let the aggregate decide: this is a superset. Only the
// event types of events_membership_idx are indexed for this.
func (s *Store) StreamsMentioning(ctx context.Context, accountID string, eventTypes []string, field, value string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT stream_id::text FROM events
		WHERE account_id = $1 AND event_type = ANY($2)
		  AND jsonb_typeof(data -> $3) = 'array'
		  AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(data -> $3) v WHERE lower(v) = lower($4))`,
		accountID, eventTypes, field, value)
	if err != nil {
		return nil, fmt.Errorf("eventstore: streams mentioning: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ExistingStreams returns which of ids are streams of streamType in the
// account. Ids of other accounts, other types or nothing are absent.
func (s *Store) ExistingStreams(ctx context.Context, accountID, streamType string, ids []string) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT stream_id::text FROM events
		WHERE stream_id = ANY($3::uuid[]) AND stream_version = 1 AND account_id = $1 AND stream_type = $2`,
		accountID, streamType, ids)
	if err != nil {
		return nil, fmt.Errorf("eventstore: existing streams: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// IdempotentResponse is what a request with an Idempotency-Key answered.
type IdempotentResponse struct {
	RequestHash string
	Status      int                 // 0 while the first request has not finished
	Header      map[string][]string // the answer's headers worth replaying (ETag, Location, …)
	Body        []byte              // nil while the first request has not finished
}

// LookupIdempotency returns the stored answer for key, if the key was used.
func (s *Store) LookupIdempotency(ctx context.Context, accountID, key string) (*IdempotentResponse, error) {
	var r IdempotentResponse
	var status *int32
	var header []byte
	err := s.pool.QueryRow(ctx, `SELECT request_hash, response_status, response_headers, response_body
		FROM idempotency_keys WHERE account_id = $1 AND key = $2`, accountID, key).Scan(&r.RequestHash, &status, &header, &r.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("eventstore: lookup idempotency key: %w", err)
	}
	if status != nil {
		r.Status = int(*status)
	}
	if len(header) > 0 {
		if err := json.Unmarshal(header, &r.Header); err != nil {
			return nil, fmt.Errorf("eventstore: idempotency key headers: %w", err)
		}
	}
	return &r, nil
}

// ReserveIdempotencyKey reserves key for the request identified by owner
// until now+lease, if the key is new, or was used by the same request (hash)
// that did not finish: given up, or its lease ran out (its process died).
// It reports whether owner now holds the key.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, accountID, key, hash, owner string, lease time.Duration) (bool, error) {
	var got string
	err := s.pool.QueryRow(ctx, `INSERT INTO idempotency_keys (account_id, key, request_hash, owner, locked_until)
		VALUES ($1, $2, $3, $4, now() + $5 * interval '1 millisecond')
		ON CONFLICT (account_id, key) DO UPDATE
			SET owner = EXCLUDED.owner, locked_until = EXCLUDED.locked_until, appended_at = NULL
			WHERE idempotency_keys.response_status IS NULL
			  AND idempotency_keys.request_hash = EXCLUDED.request_hash
			  AND (idempotency_keys.locked_until IS NULL OR idempotency_keys.locked_until < now())
		RETURNING owner::text`, accountID, key, hash, owner, lease.Milliseconds()).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("eventstore: reserve idempotency key: %w", err)
	}
	return got == owner, nil
}

// ExtendIdempotencyKey moves the lease of owner's reservation to now+lease;
// it reports whether owner still holds the key.
func (s *Store) ExtendIdempotencyKey(ctx context.Context, accountID, key, owner string, lease time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET locked_until = now() + $4 * interval '1 millisecond'
		WHERE account_id = $1 AND key = $2 AND owner = $3 AND response_status IS NULL`,
		accountID, key, owner, lease.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("eventstore: extend idempotency key: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseIdempotencyKey gives up owner's reservation without an answer (the
// request failed): a retry with the same key runs afresh.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, accountID, key, owner string) error {
	_, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET owner = NULL, locked_until = NULL
		WHERE account_id = $1 AND key = $2 AND owner = $3 AND response_status IS NULL`, accountID, key, owner)
	if err != nil {
		return fmt.Errorf("eventstore: release idempotency key: %w", err)
	}
	return nil
}

// SaveIdempotentResponse stores the answer of the request that used key.
// With an owner, only while that request holds the key (and it ends the
// reservation); without one, the row an Append wrote for the key.
func (s *Store) SaveIdempotentResponse(ctx context.Context, accountID, key, owner string, resp IdempotentResponse) error {
	header, err := json.Marshal(resp.Header)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `UPDATE idempotency_keys
		SET response_status = $4, response_headers = $5, response_body = $6, owner = NULL, locked_until = NULL
		WHERE account_id = $1 AND key = $2 AND ($3 = '' OR owner::text = $3) AND response_status IS NULL`,
		accountID, key, owner, resp.Status, header, resp.Body)
	if err != nil {
		return fmt.Errorf("eventstore: save idempotent response: %w", err)
	}
	return nil
}

// opened scans rows and, unless the store is Sealed, opens the personal
// fields of the events.
func (s *Store) opened(ctx context.Context, rows pgx.Rows) ([]Event, error) {
	evs, err := scanEvents(rows)
	if err != nil || s.sealed {
		return evs, err
	}
	if err := s.Open(ctx, evs); err != nil {
		return nil, err
	}
	return evs, nil
}

func scanEvents(rows pgx.Rows) ([]Event, error) {
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var data, md []byte
		var txid string
		if err := rows.Scan(&e.Position, &e.ID, &e.AccountID, &e.StreamType, &e.StreamID,
			&e.Version, &e.Type, &e.SchemaVersion, &data, &md, &e.RecordedAt, &txid); err != nil {
			return nil, err
		}
		e.Data = data
		if len(md) > 0 {
			if err := json.Unmarshal(md, &e.Metadata); err != nil {
				return nil, fmt.Errorf("eventstore: metadata of event %s: %w", e.ID, err)
			}
		}
		e.TxID, _ = strconv.ParseUint(txid, 10, 64)
		out = append(out, e)
	}
	return out, rows.Err()
}

// NewID returns a time-ordered (version 7) UUID: new ids land at the right
// edge of the btree indexes instead of at random pages.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}
