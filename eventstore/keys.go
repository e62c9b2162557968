package eventstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"contacts/eventstore/pii"
)

// The crypto-shredding codec at the store boundary (README "Erasing a
// person"; the layout is in package pii). Append seals the personal fields
// of contact events with the contact's data key; every read opens them, so
// commands, aggregates and projections see clear events, and a contact whose
// key was destroyed reads with its personal fields left out and
// "pii_erased": true. Sealed() reads what is stored: the relay publishes
// that, so the Kafka topic never holds clear personal data.

// sealedStreamType is the stream type whose events carry personal data.
// (The event store does not import the domain; contact.StreamType.)
const sealedStreamType = "contact"

// ErrErased: an append to a contact whose data key was destroyed.
var ErrErased = errors.New("eventstore: the contact was erased")

// keyTTL bounds how long an instance trusts a cached data key. An erase
// drops the key from the erasing instance's cache at once, and from the
// others' when they hear of it (ListenErased); failing that, another
// instance may still open that contact's events for up to keyTTL (its
// projections cannot bring the data back: contact.erased wipes the state).
const keyTTL = 5 * time.Second

const maxCachedKeys = 200_000

// Option configures New.
type Option func(*Store)

// WithMasterKey wraps every data key with master (32 bytes, AES-256-GCM),
// the deployment's CONTACTS_ENCRYPTION_KEY: a copy of the database alone
// then opens nothing.
func WithMasterKey(master []byte) Option {
	return func(s *Store) { s.keys.master = master }
}

// Sealed returns a view of the store whose reads return events as stored,
// personal fields sealed: for publishing to Kafka.
func (s *Store) Sealed() *Store {
	c := *s
	c.sealed = true
	return &c
}

// keyring caches data keys by contact id. A nil key is an erased contact.
type keyring struct {
	master []byte
	mu     sync.Mutex
	cache  map[string]cachedKey
}

type cachedKey struct {
	account string
	key     []byte
	at      time.Time
}

func (k *keyring) get(id string, now time.Time) (cachedKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.cache[id]
	if !ok || now.Sub(c.at) > keyTTL {
		return cachedKey{}, false
	}
	return c, true
}

func (k *keyring) put(entries map[string]cachedKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cache == nil || len(k.cache)+len(entries) > maxCachedKeys {
		k.cache = make(map[string]cachedKey, len(entries))
	}
	for id, c := range entries {
		k.cache[id] = c
	}
}

func (k *keyring) flush() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cache = nil
}

func (k *keyring) forget(ids []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, id := range ids {
		delete(k.cache, id)
	}
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// loadKeys reads the data keys of ids (erased: nil key; no row: absent).
func (s *Store) loadKeys(ctx context.Context, q querier, ids []string) (map[string]cachedKey, error) {
	out := make(map[string]cachedKey, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT contact_id::text, account_id::text, key FROM contact_keys
		WHERE contact_id = ANY($1::uuid[])`, pgx.QueryExecModeExec, ids)
	if err != nil {
		return nil, fmt.Errorf("eventstore: contact keys: %w", err)
	}
	defer rows.Close()
	now := time.Now()
	for rows.Next() {
		var id, account string
		var stored []byte
		if err := rows.Scan(&id, &account, &stored); err != nil {
			return nil, fmt.Errorf("eventstore: contact keys: %w", err)
		}
		c := cachedKey{account: account, at: now}
		if stored != nil {
			if c.key, err = pii.Unwrap(s.keys.master, stored, keyAAD(account, id)); err != nil {
				return nil, fmt.Errorf("eventstore: key of contact %s: %w", id, err)
			}
		}
		out[id] = c
	}
	return out, rows.Err()
}

func keyAAD(account, contact string) []byte { return []byte(account + "|" + contact) }

// sealStreams returns streams with the personal fields of contact events
// sealed (the request's own events stay clear for Append's answer), and the
// keys to cache once the transaction commits. New keys are inserted in one
// statement per append, in tx.
func (s *Store) sealStreams(ctx context.Context, tx pgx.Tx, streams []StreamAppend) ([]StreamAppend, map[string]cachedKey, error) {
	now := time.Now()
	keys := map[string]cachedKey{}
	var lookup []string // existing streams whose key is not cached
	var need []int      // indexes of streams with personal data
	fields := map[int][]pii.Fields{}
	for i, sa := range streams {
		if sa.StreamType != sealedStreamType {
			continue
		}
		fs := make([]pii.Fields, len(sa.Events))
		personal := false
		for j, e := range sa.Events {
			// Data that is not a JSON object has no fields to seal: stored
			// as it is (the database refuses what is not JSON).
			f, _ := pii.Split(e.Data)
			fs[j], personal = f, personal || f.Personal()
		}
		if !personal {
			continue
		}
		fields[i] = fs
		need = append(need, i)
		if sa.ExpectedVersion == 0 {
			continue
		}
		if c, ok := s.keys.get(sa.StreamID, now); ok {
			keys[sa.StreamID] = c
		} else {
			lookup = append(lookup, sa.StreamID)
		}
	}
	if len(need) == 0 {
		return streams, nil, nil
	}
	found, err := s.loadKeys(ctx, tx, lookup)
	if err != nil {
		return nil, nil, err
	}
	for id, c := range found {
		keys[id] = c
	}
	// New contacts, and contacts recorded before sealing existed: a new key.
	var ids, accounts []string
	var wrapped [][]byte
	fresh := map[string][]byte{}
	for _, i := range need {
		sa := streams[i]
		if _, ok := keys[sa.StreamID]; ok {
			continue
		}
		if _, dup := fresh[sa.StreamID]; dup {
			continue
		}
		k, err := pii.NewKey()
		if err != nil {
			return nil, nil, err
		}
		w, err := pii.Wrap(s.keys.master, k, keyAAD(sa.AccountID, sa.StreamID))
		if err != nil {
			return nil, nil, err
		}
		fresh[sa.StreamID] = k
		ids, accounts, wrapped = append(ids, sa.StreamID), append(accounts, sa.AccountID), append(wrapped, w)
	}
	if len(ids) > 0 {
		rows, err := tx.Query(ctx, `INSERT INTO contact_keys (contact_id, account_id, key)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bytea[])
			ON CONFLICT (contact_id) DO NOTHING
			RETURNING contact_id::text, account_id::text`, ids, accounts, wrapped)
		if err != nil {
			return nil, nil, fmt.Errorf("eventstore: new contact keys: %w", err)
		}
		inserted, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (cachedKey, error) {
			var id string
			var c cachedKey
			err := r.Scan(&id, &c.account)
			c.key, c.at = fresh[id], now
			keys[id] = c
			return c, err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("eventstore: new contact keys: %w", err)
		}
		if len(inserted) < len(ids) {
			// Another writer keyed a legacy contact first (our insert waited
			// for its commit): use the key it stored.
			var raced []string
			for _, id := range ids {
				if _, ok := keys[id]; !ok {
					raced = append(raced, id)
				}
			}
			found, err := s.loadKeys(ctx, tx, raced)
			if err != nil {
				return nil, nil, err
			}
			for id, c := range found {
				keys[id] = c
			}
		}
	}
	out := append([]StreamAppend(nil), streams...)
	for _, i := range need {
		sa := out[i]
		c, ok := keys[sa.StreamID]
		switch {
		case !ok:
			return nil, nil, fmt.Errorf("eventstore: no data key for contact %s", sa.StreamID)
		case c.account != sa.AccountID:
			// Another account's contact: the stream guard refuses the
			// append; never seal with that account's key.
			return nil, nil, fmt.Errorf("%w: stream %s is not this account's", ErrConcurrency, sa.StreamID)
		case c.key == nil && sa.ExpectedVersion == 0:
			// A new stream under an erased contact's id: the stream exists.
			return nil, nil, fmt.Errorf("%w: stream %s exists (an erased contact)", ErrConcurrency, sa.StreamID)
		case c.key == nil:
			return nil, nil, fmt.Errorf("%w: %s", ErrErased, sa.StreamID)
		}
		evs := make([]NewEvent, len(sa.Events))
		for j, e := range sa.Events {
			sealed, err := fields[i][j].Seal(c.key, pii.AAD(sa.AccountID, sa.StreamID, e.ID))
			if err != nil {
				return nil, nil, fmt.Errorf("eventstore: sealing event %s: %w", e.ID, err)
			}
			if sealed != nil {
				e.Data = sealed
			}
			evs[j] = e
		}
		out[i].Events = evs
	}
	return out, keys, nil
}

// sealedMark finds sealed data cheaply (jsonb prints `"pii": "`).
var sealedMark = []byte(`"` + pii.Field + `"`)

// Open restores the personal fields of sealed events in place (for events
// read from the Kafka topic; the store's own reads do it already). Events of
// erased contacts come back without them, marked "pii_erased": true.
func (s *Store) Open(ctx context.Context, events []Event) error {
	now := time.Now()
	keys := map[string]cachedKey{}
	var lookup []string
	for _, e := range events {
		if e.StreamType != sealedStreamType || !bytes.Contains(e.Data, sealedMark) {
			continue
		}
		if _, ok := keys[e.StreamID]; ok {
			continue
		}
		if c, ok := s.keys.get(e.StreamID, now); ok {
			keys[e.StreamID] = c
		} else {
			keys[e.StreamID] = cachedKey{} // until loaded
			lookup = append(lookup, e.StreamID)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	found, err := s.loadKeys(ctx, s.pool, lookup)
	if err != nil {
		return err
	}
	s.keys.put(found)
	for id, c := range found {
		keys[id] = c
	}
	for i := range events {
		e := &events[i]
		c, ok := keys[e.StreamID]
		if !ok || e.StreamType != sealedStreamType || !bytes.Contains(e.Data, sealedMark) {
			continue
		}
		key := c.key
		if c.account != e.AccountID {
			key = nil // no key of this account: nothing to open with
		}
		data, err := pii.Open(key, pii.AAD(e.AccountID, e.StreamID, e.ID), e.Data)
		if err != nil {
			return fmt.Errorf("eventstore: opening event %s: %w", e.ID, err)
		}
		e.Data = data
	}
	return nil
}

// ErasedChannel is the PostgreSQL NOTIFY channel on which an erasure
// announces its contact id when it commits.
const ErasedChannel = "contacts_erased"

// ListenErased holds one connection of the pool listening on ErasedChannel
// and drops each erased contact's key from this store's cache, until ctx
// ends (nil) or the connection fails (the error; listen again). With it, an
// erase on another instance takes effect here at once rather than within
// keyTTL; a key read just before the erase committed may still be cached
// for keyTTL after it.
func (s *Store) ListenErased(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("eventstore: listen erased: %w", err)
	}
	pc := conn.Hijack()                        // carries a LISTEN: never back to the pool
	defer pc.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing a connection we are done with
	if _, err := pc.Exec(ctx, "LISTEN "+ErasedChannel); err != nil {
		return fmt.Errorf("eventstore: listen erased: %w", err)
	}
	s.keys.flush() // whatever was erased while nobody listened
	for {
		n, err := pc.WaitForNotification(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("eventstore: listen erased: %w", err)
		}
		s.keys.forget([]string{n.Payload})
	}
}

// Erasure destroys a contact's data key in an append (see AppendRequest).
type Erasure struct {
	AccountID string
	ContactID string
	// Audit records the erasure in the account's audit_log, in the same
	// transaction, with the actor and request id of the request's metadata.
	Audit bool
}

// erase destroys the data keys of es and redacts, in place, the personal
// fields of their events recorded in clear before sealing existed — the one
// exception to append-only. Stored Idempotency-Key answers that show the
// contact are replaced by a marker.
func erase(ctx context.Context, tx pgx.Tx, es []Erasure) error {
	for _, e := range es {
		if _, err := tx.Exec(ctx, `INSERT INTO contact_keys (contact_id, account_id, key, erased_at)
			VALUES ($1, $2, NULL, now())
			ON CONFLICT (contact_id) DO UPDATE SET key = NULL, erased_at = coalesce(contact_keys.erased_at, now())
			WHERE contact_keys.account_id = excluded.account_id`, e.ContactID, e.AccountID); err != nil {
			return fmt.Errorf("eventstore: erase key: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT stream_version, data FROM events
			WHERE stream_id = $1 AND account_id = $2 AND NOT data ? $3`, e.ContactID, e.AccountID, pii.Field)
		if err != nil {
			return fmt.Errorf("eventstore: erase: %w", err)
		}
		var versions []int64
		var datas []string
		for rows.Next() {
			var v int64
			var data []byte
			if err := rows.Scan(&v, &data); err != nil {
				rows.Close()
				return fmt.Errorf("eventstore: erase: %w", err)
			}
			red, err := pii.Redact(data)
			if err != nil {
				rows.Close()
				return fmt.Errorf("eventstore: erase: %w", err)
			}
			if red != nil {
				versions, datas = append(versions, v), append(datas, string(red))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("eventstore: erase: %w", err)
		}
		if len(versions) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE events e SET data = r.data
				FROM unnest($3::bigint[], $4::jsonb[]) AS r(ver, data)
				WHERE e.stream_id = $1 AND e.account_id = $2 AND e.stream_version = r.ver`,
				e.ContactID, e.AccountID, versions, datas); err != nil {
				return fmt.Errorf("eventstore: erase legacy events: %w", err)
			}
		}
		// Delivered at commit: every instance listening (ListenErased)
		// drops the key from its cache.
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ErasedChannel, e.ContactID); err != nil {
			return fmt.Errorf("eventstore: notify erase: %w", err)
		}
		if e.Audit {
			md := RequestInfoFrom(ctx).Metadata
			if _, err := tx.Exec(ctx, `INSERT INTO audit_log (account_id, actor, actor_type, action, target, details, request_id)
				VALUES ($1, $2, $3, 'contact.erased', $4, jsonb_build_object('legacy_events_redacted', $5::int), $6)`,
				e.AccountID, md.Actor, md.ActorType, e.ContactID, len(versions), md.RequestID); err != nil {
				return fmt.Errorf("eventstore: audit erase: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE idempotency_keys
			SET response_body = convert_to(json_build_object('uuid', $2::text, 'erased', true)::text, 'UTF8')
			WHERE account_id = $1 AND position(convert_to($2::text, 'UTF8') in response_body) > 0`,
			e.AccountID, e.ContactID); err != nil {
			return fmt.Errorf("eventstore: erase stored answers: %w", err)
		}
	}
	return nil
}
