package pgquery

import (
	"encoding/json"
	"errors"
	"testing"

	"contacts/domain"
)

// decode, fieldsOf and parseJSON are the query model tests' helpers
// (readapi's query_test.go and advanced_test.go), for the same requests here.

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// fieldsOf asserts err is a validation error and returns its fields.
func fieldsOf(t testing.TB, err error) map[string]string {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *domain.Error", err, err)
	}
	if de.Code != domain.CodeValidation || !errors.Is(err, domain.ErrValidation) {
		t.Fatalf("error %v has code %q, want validation_error", err, de.Code)
	}
	return de.Fields
}

func parseJSON(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}
