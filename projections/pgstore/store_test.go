package pgstore_test

import (
	"context"
	"testing"

	"contacts/internal/migrations"
	"contacts/internal/pgtest"
	"contacts/projections"
	"contacts/projections/pgstore"
	"contacts/projections/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) projections.ReadModel {
		pool := pgtest.New(t)
		if _, err := migrations.Apply(context.Background(), pool); err != nil {
			t.Fatal(err)
		}
		return pgstore.New(pool)
	})
}
