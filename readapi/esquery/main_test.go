package esquery

import (
	"testing"

	"contacts/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
