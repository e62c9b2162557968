package main

import (
	"testing"

	"contacts/domain"
)

// The import benchmark's rows must be importable: a phone number
// libphonenumber refuses makes every row an error row, and the benchmark
// would time nothing but error files.
func TestBenchPhonesAreValidAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 80_000_000; i += 7919 {
		p := benchPhone(i)
		if got, err := domain.NormalizePhone(p, ""); err != nil || got != p {
			t.Fatalf("row %d: %s → %q, %v", i, p, got, err)
		}
		if seen[p] {
			t.Fatalf("row %d: %s repeats", i, p)
		}
		seen[p] = true
	}
}
