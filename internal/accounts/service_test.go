package accounts

import (
	"strings"
	"testing"
	"time"

	"contacts/internal/auth"
	"github.com/golang-jwt/jwt/v5"
)

func TestVerify(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := &Service{secret: secret, accessTTL: time.Hour, now: func() time.Time { return now }}
	sign := func(method jwt.SigningMethod, key any, c accessClaims) string {
		tok, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	const (
		acc  = "0190a5a4-0000-7000-8000-00000000000a"
		user = "0190a5a4-0000-7000-8000-00000000000b"
		sid  = "0190a5a4-0000-7000-8000-00000000000c"
	)
	valid := accessClaims{Account: acc, Role: auth.RoleAgent, Session: sid, RegisteredClaims: jwt.RegisteredClaims{
		Subject: user, ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
	}}
	p, err := s.Verify(sign(jwt.SigningMethodHS256, secret, valid))
	if err != nil || p != (auth.Principal{UserID: user, AccountID: acc, Role: auth.RoleAgent, SessionID: sid, Scopes: auth.ScopeAll,
		Expires: now.Add(time.Minute)}) {
		t.Fatalf("valid token: %+v, %v", p, err)
	}

	expired := valid
	expired.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second))
	noExpiry := valid
	noExpiry.ExpiresAt = nil
	noAccount := valid
	noAccount.Account = ""
	noSession := valid
	noSession.Session = ""
	badSubject := valid
	badSubject.Subject = "user' OR 1=1"
	good := sign(jwt.SigningMethodHS256, secret, valid)
	parts := strings.Split(good, ".")
	cases := map[string]string{
		"expired":          sign(jwt.SigningMethodHS256, secret, expired),
		"no expiry":        sign(jwt.SigningMethodHS256, secret, noExpiry),
		"no account":       sign(jwt.SigningMethodHS256, secret, noAccount),
		"no session":       sign(jwt.SigningMethodHS256, secret, noSession),
		"subject not a id": sign(jwt.SigningMethodHS256, secret, badSubject),
		"other secret":     sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), valid),
		"alg none":         sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid),
		"HS512":            sign(jwt.SigningMethodHS512, secret, valid),
		"tampered payload": parts[0] + "." + strings.TrimRight(parts[1], "=") + "e30." + parts[2],
		"garbage":          "garbage",
	}
	for name, tok := range cases {
		if _, err := s.Verify(tok); err != auth.ErrInvalidToken {
			t.Errorf("%s: err = %v, want auth.ErrInvalidToken", name, err)
		}
	}
}

func TestScopes(t *testing.T) {
	cases := []struct {
		in   []string
		want auth.Scope
		err  bool
	}{
		{[]string{"read_contacts"}, auth.ScopeReadContacts, false},
		{[]string{"write_contacts", "read_contacts"}, auth.ScopeAll, false},
		{[]string{"read_contacts", "read_contacts"}, auth.ScopeReadContacts, false},
		{[]string{}, 0, false},
		{[]string{"admin"}, 0, true},
		{[]string{"READ_CONTACTS"}, 0, true},
	}
	for _, c := range cases {
		got, err := auth.ParseScopes(c.in)
		if got != c.want || (err != nil) != c.err {
			t.Errorf("auth.ParseScopes(%v) = %v, %v", c.in, got, err)
		}
	}
	if n := auth.ScopeAll.Names(); len(n) != 2 || n[0] != "read_contacts" || n[1] != "write_contacts" {
		t.Fatalf("names: %v", n)
	}
	key := auth.Principal{KeyID: "k", AccountID: "a", Scopes: auth.ScopeReadContacts}
	user := auth.Principal{UserID: "u", AccountID: "a", Scopes: auth.ScopeAll}
	if !key.IsKey() || key.Can(auth.ScopeWriteContacts) || !key.Can(auth.ScopeReadContacts) || key.Actor() != "key:k" || key.ActorType() != "api_key" {
		t.Fatalf("key principal: %+v", key)
	}
	if user.IsKey() || !user.Can(auth.ScopeAll) || user.Actor() != "u" || user.ActorType() != "user" {
		t.Fatalf("user principal: %+v", user)
	}
}
