package accounts_test

import (
	"context"
	"testing"
	"time"

	"contacts/internal/accounts"
	"contacts/internal/migrations"
	"contacts/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// BenchmarkAuthenticate is what authentication costs every request: an
// access token (signature, then one query for the session and the
// membership) or an API key (one query by hash), run from 8 goroutines.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.New(b)
	if _, err := migrations.Apply(ctx, pool); err != nil {
		b.Fatal(err)
	}
	svc := accounts.New(pool, []byte("bench-secret-bench-secret-bench-secret"), time.Hour)
	sess, err := svc.Register(ctx, accounts.RegisterInput{AccountName: "A", Name: "B", Email: "bench@example.com", Password: "correct horse battery"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, sess.AccessToken)
	if err != nil {
		b.Fatal(err)
	}
	key, err := svc.CreateAPIKey(ctx, p, accounts.CreateAPIKeyInput{Name: "k", Scopes: []string{"read_contacts"}})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, token string }{{"access_token", sess.AccessToken}, {"api_key", key.Key}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetParallelism(4) // × GOMAXPROCS (2 here): 8 goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := svc.Authenticate(ctx, tc.token); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
