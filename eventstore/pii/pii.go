// Package pii is the crypto-shredding codec of the event store: the personal
// fields of a contact's events are sealed with that contact's own data key
// (AES-256-GCM), so destroying the key makes every copy of those events
// unreadable — the events table, the Kafka topic, replays of the stream
// (not a backup that still holds the key). Pure functions; the keys live in the contact_keys table (see
// eventstore/keys.go).
//
// Data layout of a sealed event: the clear part of the event's top-level
// JSON object (the keys of ClearFields) plus
//
//	"pii": "<base64(nonce | ciphertext)>"
//
// where the plaintext is the JSON object of every other top-level key. The
// AAD is account id + contact id + event id, so a ciphertext cannot be moved
// to another event, contact or account. When the key is gone, Open returns
// the clear part with "pii_erased": true instead of the personal fields.
package pii

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/go-json-experiment/json/jsontext"
)

const (
	// Field holds the sealed personal fields in a stored event's data.
	Field = "pii"
	// ErasedField marks an event whose personal fields were erased.
	ErasedField = "pii_erased"
	// KeySize is the size of a data key (AES-256).
	KeySize = 32
)

// ClearFields are the top-level event fields that stay readable: ids and
// labels (the event store finds label members by SQL over data -> 'labels').
// Everything else of a contact event is personal data: names, e-mails,
// phones, identifier, address, avatar, title, departments, profile changes,
// note contents, custom and additional attributes, associations, absorbed
// fields of a merge. An allowlist, so a field added later is sealed by
// default.
var ClearFields = map[string]bool{
	"id": true, "account_id": true, "created_by": true, "labels": true,
	"note_id": true, "author_id": true, "assigned_to": true, "teams": true,
	"into": true, "from": true,
	// The codec's own fields: a sealed blob or an erasure marker is not
	// clear personal data.
	Field: true, ErasedField: true,
}

// ErrKey: the key cannot open this ciphertext (wrong key, moved ciphertext,
// corrupt data).
var ErrKey = errors.New("pii: ciphertext does not open with this key")

// NewKey returns a random data key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("pii: new key: %w", err)
	}
	return k, nil
}

// AAD binds a ciphertext to its account, contact and event.
func AAD(accountID, contactID, eventID string) []byte {
	return []byte(accountID + "|" + contactID + "|" + eventID)
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	return cipher.NewGCM(b)
}

// seal returns nonce | ciphertext.
func seal(key, plain, aad []byte) ([]byte, error) {
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, g.NonceSize(), g.NonceSize()+len(plain)+g.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("pii: nonce: %w", err)
	}
	return g.Seal(out, out, plain, aad), nil
}

func open(key, sealed, aad []byte) ([]byte, error) {
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < g.NonceSize() {
		return nil, ErrKey
	}
	plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], aad)
	if err != nil {
		return nil, ErrKey
	}
	return plain, nil
}

// Wrap seals a data key with the deployment's master key (nil master: the
// key is stored as is).
func Wrap(master, key, aad []byte) ([]byte, error) {
	if master == nil {
		return key, nil
	}
	return seal(master, key, aad)
}

// Unwrap undoes Wrap. A stored key of KeySize bytes was not wrapped.
func Unwrap(master, stored, aad []byte) ([]byte, error) {
	if len(stored) == KeySize {
		return stored, nil
	}
	if master == nil {
		return nil, errors.New("pii: data keys are wrapped but no master key (CONTACTS_ENCRYPTION_KEY) is configured")
	}
	return open(master, stored, aad)
}

// members calls visit with each top-level member of the JSON object data,
// its value raw (copied). It reads with jsontext, without reflection: this
// runs for every contact event appended and read, and json.Unmarshal into a
// map was most of the codec's cost.
func members(data []byte, visit func(name string, value json.RawMessage)) error {
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return fmt.Errorf("pii: event data: not a JSON object (%v)", err)
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return fmt.Errorf("pii: event data: %w", err)
		}
		k := name.String() // before the next read voids the token
		value, err := dec.ReadValue()
		if err != nil {
			return fmt.Errorf("pii: event data: %w", err)
		}
		visit(k, json.RawMessage(bytes.Clone(value)))
	}
	if _, err := dec.ReadToken(); err != nil {
		return fmt.Errorf("pii: event data: %w", err)
	}
	return nil
}

// split separates data's top-level fields into the clear part and the
// personal part (nil when there is none). data must be a JSON object.
func split(data []byte) (clear, personal map[string]json.RawMessage, err error) {
	clear = make(map[string]json.RawMessage, 8)
	err = members(data, func(k string, v json.RawMessage) {
		if ClearFields[k] {
			clear[k] = v
			return
		}
		if personal == nil {
			personal = make(map[string]json.RawMessage, 16)
		}
		personal[k] = v
	})
	if err != nil {
		return nil, nil, err
	}
	return clear, personal, nil
}

// Fields is event data split into its clear and personal top-level fields.
type Fields struct {
	clear, personal map[string]json.RawMessage
}

// Split parses clear event data (a JSON object) once, for Personal and Seal.
func Split(data []byte) (Fields, error) {
	clear, personal, err := split(data)
	return Fields{clear: clear, personal: personal}, err
}

// Personal tells whether the data has fields Seal seals.
func (f Fields) Personal() bool { return f.personal != nil }

// Seal returns the data with its personal fields sealed under key (nil when
// it has none: store it as it is).
func (f Fields) Seal(key, aad []byte) ([]byte, error) {
	if f.personal == nil {
		return nil, nil
	}
	s, err := seal(key, object(f.personal), aad)
	if err != nil {
		return nil, err
	}
	clear := make(map[string]json.RawMessage, len(f.clear)+1)
	for k, v := range f.clear {
		clear[k] = v
	}
	clear[Field] = quoted(base64.StdEncoding.EncodeToString(s))
	return object(clear), nil
}

// Seal returns data with its personal fields sealed under key. Data without
// personal fields comes back unchanged.
func Seal(key, aad, data []byte) ([]byte, error) {
	f, err := Split(data)
	if err != nil || !f.Personal() {
		return data, err
	}
	return f.Seal(key, aad)
}

// object writes m as a JSON object, keys sorted. Its values came from
// json.Unmarshal (valid JSON): written as they are, not re-validated as
// json.Marshal would (half the cost of sealing an event).
func object(m map[string]json.RawMessage) []byte {
	keys := make([]string, 0, len(m))
	n := 2
	for k, v := range m {
		keys = append(keys, k)
		n += len(k) + len(v) + 4
	}
	sort.Strings(keys)
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, quoted(k)...)
		out = append(out, ':')
		out = append(out, m[k]...)
	}
	return append(out, '}')
}

// quoted is s as a JSON string.
func quoted(s string) json.RawMessage {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	if plain { // field names, base64: nothing to escape
		out := make([]byte, 0, len(s)+2)
		out = append(out, '"')
		out = append(out, s...)
		return append(out, '"')
	}
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// Open returns stored data with its personal fields restored. With a nil key
// (the contact was erased) the personal fields are left out and the data
// carries "pii_erased": true. Data that was not sealed comes back unchanged.
func Open(key, aad, data []byte) ([]byte, error) {
	m := make(map[string]json.RawMessage, 8)
	if err := members(data, func(k string, v json.RawMessage) { m[k] = v }); err != nil {
		return nil, err
	}
	raw, ok := m[Field]
	if !ok {
		return data, nil
	}
	delete(m, Field)
	if key == nil {
		m[ErasedField] = json.RawMessage("true")
		return object(m), nil
	}
	// Seal wrote a plain JSON string of base64, which has nothing to
	// unescape: its bytes are decoded as they stand (json.Unmarshal's scan
	// of a long string was a third of opening an event).
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, fmt.Errorf("pii: sealed field is not a string")
	}
	s := make([]byte, base64.StdEncoding.DecodedLen(len(raw)-2))
	n, err := base64.StdEncoding.Decode(s, raw[1:len(raw)-1])
	if err != nil {
		return nil, fmt.Errorf("pii: sealed field: %w", err)
	}
	s = s[:n]
	plain, err := open(key, s, aad)
	if err != nil {
		return nil, err
	}
	// plain is the JSON object Seal wrote (authenticated: not parsed again);
	// its keys and the clear part's are disjoint, so the two objects'
	// members are joined as they are.
	if len(plain) < 2 || plain[0] != '{' || plain[len(plain)-1] != '}' {
		return nil, fmt.Errorf("pii: sealed fields are not a JSON object")
	}
	if len(m) == 0 {
		return plain, nil
	}
	rest := object(m)
	out := make([]byte, 0, len(plain)+len(rest))
	out = append(out, plain[:len(plain)-1]...)
	if len(plain) > 2 {
		out = append(out, ',')
	}
	return append(out, rest[1:]...), nil
}

// Redact returns data without its personal fields (clear or sealed), marked
// "pii_erased": true; nil when there is nothing to redact. It is what the
// erasure of a contact writes over events recorded in clear before sealing
// existed.
func Redact(data []byte) ([]byte, error) {
	clear, personal, err := split(data)
	if err != nil || personal == nil {
		return nil, err
	}
	clear[ErasedField] = json.RawMessage("true")
	return object(clear), nil
}
