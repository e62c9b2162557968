package auth

import (
	"strings"
	"testing"
	"time"

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
	valid := accessClaims{Account: "acc", Role: RoleAgent, RegisteredClaims: jwt.RegisteredClaims{
		Subject: "user", ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute)),
	}}
	p, err := s.Verify(sign(jwt.SigningMethodHS256, secret, valid))
	if err != nil || p != (Principal{UserID: "user", AccountID: "acc", Role: RoleAgent, ExpiresAt: now.Add(time.Minute).Truncate(time.Second).UTC()}) {
		t.Fatalf("valid token: %+v, %v", p, err)
	}

	expired := valid
	expired.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second))
	noExpiry := valid
	noExpiry.ExpiresAt = nil
	noAccount := valid
	noAccount.Account = ""
	good := sign(jwt.SigningMethodHS256, secret, valid)
	parts := strings.Split(good, ".")
	cases := map[string]string{
		"expired":          sign(jwt.SigningMethodHS256, secret, expired),
		"no expiry":        sign(jwt.SigningMethodHS256, secret, noExpiry),
		"no account":       sign(jwt.SigningMethodHS256, secret, noAccount),
		"other secret":     sign(jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), valid),
		"alg none":         sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid),
		"HS512":            sign(jwt.SigningMethodHS512, secret, valid),
		"tampered payload": parts[0] + "." + strings.TrimRight(parts[1], "=") + "e30." + parts[2],
		"garbage":          "garbage",
	}
	for name, tok := range cases {
		if _, err := s.Verify(tok); err != ErrInvalidToken {
			t.Errorf("%s: err = %v, want ErrInvalidToken", name, err)
		}
	}
}
