package pii

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func mustKey(t *testing.T) []byte {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	key, other := mustKey(t), mustKey(t)
	aad := AAD("acct", "contact", "event")
	cases := []struct {
		name, data string
		sealed     bool
	}{
		{"profile", `{"id":"c1","account_id":"a","first_name":"Ada","email":"ada@x.io","labels":["VIP"]}`, true},
		{"changes", `{"changes":{"phone":{"old":"","new":"+33612345678"}}}`, true},
		{"note", `{"note_id":"n1","content":"secret","author_id":"u"}`, true},
		{"no personal fields", `{"note_id":"n1"}`, false},
		{"empty", `{}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stored, err := Seal(key, aad, []byte(c.data))
			if err != nil {
				t.Fatal(err)
			}
			if c.sealed != bytes.Contains(stored, []byte(`"pii"`)) {
				t.Fatalf("stored %s, sealed want %v", stored, c.sealed)
			}
			for _, secret := range []string{"Ada", "ada@x.io", "+33612345678", "secret"} {
				if strings.Contains(c.data, secret) && bytes.Contains(stored, []byte(secret)) {
					t.Fatalf("stored %s shows %q", stored, secret)
				}
			}
			back, err := Open(key, aad, stored)
			if err != nil || !sameJSON(t, back, c.data) {
				t.Fatalf("open = %s, %v; want %s", back, err, c.data)
			}
			erased, err := Open(nil, aad, stored)
			if err != nil {
				t.Fatal(err)
			}
			if c.sealed != bytes.Contains(erased, []byte(`"pii_erased":true`)) || bytes.Contains(erased, []byte(`"pii"`)) {
				t.Fatalf("open without key = %s", erased)
			}
			if c.sealed {
				if _, err := Open(other, aad, stored); !errors.Is(err, ErrKey) {
					t.Fatalf("another key opened it: %v", err)
				}
				// Moved to another event, contact or account: refused.
				for _, moved := range [][]byte{AAD("acct", "contact", "event2"), AAD("acct", "contact2", "event"), AAD("acct2", "contact", "event")} {
					if _, err := Open(key, moved, stored); !errors.Is(err, ErrKey) {
						t.Fatalf("opened under AAD %s: %v", moved, err)
					}
				}
			}
		})
	}
}

func TestRedact(t *testing.T) {
	got, err := Redact([]byte(`{"note_id":"n1","content":"Quintessa likes tea"}`))
	if err != nil || !sameJSON(t, got, `{"note_id":"n1","pii_erased":true}`) {
		t.Fatalf("Redact = %s, %v", got, err)
	}
	if got, err := Redact([]byte(`{"note_id":"n1"}`)); got != nil || err != nil {
		t.Fatalf("Redact of clear-only data = %s, %v; want nil", got, err)
	}
	if got, err := Redact([]byte(`{"pii":"AAAA"}`)); got != nil || err != nil {
		t.Fatalf("Redact of sealed data = %s, %v; want nil (the key's destruction covers it)", got, err)
	}
}

func TestWrap(t *testing.T) {
	master, key := mustKey(t), mustKey(t)
	w, err := Wrap(master, key, []byte("a|c"))
	if err != nil || bytes.Equal(w, key) || len(w) == KeySize {
		t.Fatalf("Wrap = %x, %v", w, err)
	}
	if k, err := Unwrap(master, w, []byte("a|c")); err != nil || !bytes.Equal(k, key) {
		t.Fatalf("Unwrap = %x, %v", k, err)
	}
	if _, err := Unwrap(master, w, []byte("a|other")); err == nil {
		t.Fatal("a wrapped key opened for another contact")
	}
	if _, err := Unwrap(nil, w, []byte("a|c")); err == nil {
		t.Fatal("a wrapped key opened without the master key")
	}
	if k, err := Unwrap(master, key, nil); err != nil || !bytes.Equal(k, key) {
		t.Fatalf("an unwrapped (older) key: %x, %v", k, err)
	}
}

func sameJSON(t *testing.T, a []byte, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// A contact.created of an import row: the sealing cost per event.
var benchData = []byte(`{"id":"0193a0d2-1111-7000-8000-000000000001","account_id":"0193a0d2-2222-7000-8000-000000000002","created_by":"u","identifier":"","first_name":"Grace","last_name":"Hopper","title":"Rear Admiral","seniority":"","departments":["engineering"],"email":"grace.hopper@navy.example","email_status":"","secondary_email":"","phone":"+14155550100","mobile_phone":"","language_code":"","avatar_url":"","address_line":"1 Main St","street":"","city":"Arlington","state":"VA","postcode":"22201","country":"US","text_search":"","company_id":"","opt_out":false,"opt_out_marketing":false,"reply_bot_enabled":true,"blocked":false,"last_activity_at":"","additional_attributes":{},"labels":["vip"],"custom_attributes":{"tier":"gold"}}`)

func BenchmarkSeal(b *testing.B) {
	key, _ := NewKey()
	aad := AAD("a", "c", "e")
	b.SetBytes(int64(len(benchData)))
	for i := 0; i < b.N; i++ {
		if _, err := Seal(key, aad, benchData); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	key, _ := NewKey()
	aad := AAD("a", "c", "e")
	sealed, _ := Seal(key, aad, benchData)
	b.SetBytes(int64(len(benchData)))
	for i := 0; i < b.N; i++ {
		if _, err := Open(key, aad, sealed); err != nil {
			b.Fatal(err)
		}
	}
}

func TestQuoted(t *testing.T) {
	for _, s := range []string{"first_name", "", "a\"b", `back\slash`, "<tag>&", "tab\there", "é", "AbC+/=="} {
		want, _ := json.Marshal(s)
		if got := quoted(s); string(got) != string(want) {
			t.Errorf("quoted(%q) = %s, want %s", s, got, want)
		}
	}
}
