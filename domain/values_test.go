package domain

import (
	"fmt"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	cases := []struct {
		in, region string
		want       string // "" with problem: refused
		problem    string
	}{
		{"", "", "", ""},
		{"   ", "US", "", ""},
		// The misreading of issue #13: a US number typed without +1.
		{"(415) 555-0123", "US", "+14155550123", ""},
		{"415.555.0123", "US", "+14155550123", ""},
		{"1 415 555 0123", "US", "+14155550123", ""},
		{"(415) 555-0123", "", "", "country code"},
		{"4155550123", "", "", "default_phone_region"},
		// International numbers are read the same whatever the region.
		{"+1 (415) 555-0123", "", "+14155550123", ""},
		{"+1 (415) 555-0123", "GB", "+14155550123", ""},
		{"+44 20 7946 0958", "US", "+442079460958", ""},
		{"0044 20 7946 0958", "", "+442079460958", ""},
		{"0044 20 7946 0958", "US", "+442079460958", ""},
		{"tel:+14155550123", "", "+14155550123", ""},
		{"+91 98765 43210", "", "+919876543210", ""},
		// National formats of other regions, trunk prefix dropped.
		{"020 7946 0958", "GB", "+442079460958", ""},
		{"030 123456", "DE", "+4930123456", ""},
		{"98765 43210", "IN", "+919876543210", ""},
		// WAAPI's stored form without "+" is not guessed at.
		{"919876543210", "", "", "country code"},
		{"919876543210", "US", "", "read as US"},
		// Not valid for their country.
		{"+4155550123", "", "", "valid phone number"},
		{"+1234567890", "", "", "valid phone number"},
		{"+1 200 000 0001", "", "", "valid phone number"},
		{"+0123456789", "", "", "valid phone number"},
		{"555-0123", "US", "", "valid phone number"},
		{"12", "US", "", "valid phone number"},
		{"call me", "US", "", "valid phone number"},
		{"+1 415 555 0123 ext 12", "", "", "extension"},
		{"+" + strings.Repeat("1", 70), "", "", "64 characters"},
	}
	for _, tc := range cases {
		t.Run(tc.region+"/"+tc.in, func(t *testing.T) {
			for pass := 1; pass <= 2; pass++ { // the second answer comes from the memo
				got, err := NormalizePhone(tc.in, tc.region)
				if tc.problem == "" {
					if err != nil || got != tc.want {
						t.Fatalf("pass %d: NormalizePhone(%q, %q) = %q, %v; want %q", pass, tc.in, tc.region, got, err, tc.want)
					}
					continue
				}
				if err == nil {
					t.Fatalf("pass %d: NormalizePhone(%q, %q) = %q; want an error mentioning %q", pass, tc.in, tc.region, got, tc.problem)
				}
				e, ok := err.(*Error)
				if !ok || e.Code != CodeValidation || !strings.Contains(e.Fields["phone"], tc.problem) {
					t.Fatalf("pass %d: NormalizePhone(%q, %q) error %v; want a validation error on phone mentioning %q", pass, tc.in, tc.region, err, tc.problem)
				}
			}
		})
	}
}

func TestNormalizePhoneRegion(t *testing.T) {
	for in, want := range map[string]string{"": "", "us": "US", " GB ": "GB", "de": "DE"} {
		if got, err := NormalizePhoneRegion(in); err != nil || got != want {
			t.Errorf("NormalizePhoneRegion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"USA", "XX", "001", "U", "zz", "United States"} {
		if _, err := NormalizePhoneRegion(in); err == nil {
			t.Errorf("NormalizePhoneRegion(%q) accepted", in)
		}
	}
}

func TestSuspectPhone(t *testing.T) {
	cases := []struct {
		stored, region string
		flagged        bool
		reason, sugg   string
	}{
		// Stored by the old code from "(415) 555-0123": not valid in Switzerland.
		{"+4155550123", "US", true, "national_number_read_as_international", "+14155550123"},
		// With no default region nothing can be suggested: only invalid.
		{"+4155550123", "", true, "invalid", ""},
		// "(201) 555-0123" stored under Egypt (+20), where it is not valid.
		{"+2015550123", "US", true, "national_number_read_as_international", "+12015550123"},
		// Not valid as stored, and "01234 567890" is a valid British number:
		// an account in GB gets it flagged with the British reading.
		{"+1234567890", "GB", true, "national_number_read_as_international", "+441234567890"},
		// Valid in its own country and no valid US reading: left alone.
		{"+919876543210", "US", false, "", ""},
		{"+442079460958", "US", false, "", ""},
		// Already the region's own number.
		{"+14155550123", "US", false, "", ""},
		{"+442079460958", "GB", false, "", ""},
		{"+1234567890", "FR", true, "invalid", ""},
		{"", "US", false, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.region+"/"+tc.stored, func(t *testing.T) {
			s, ok := SuspectPhone(tc.stored, tc.region)
			if ok != tc.flagged || s.Reason != tc.reason || s.Suggested != tc.sugg {
				t.Fatalf("SuspectPhone(%q, %q) = %+v, %v; want %v %q %q", tc.stored, tc.region, s, ok, tc.flagged, tc.reason, tc.sugg)
			}
		})
	}
}

// The import path normalises every phone cell: libphonenumber's parse and
// validation are the cost of a number seen for the first time ("new"); the
// same number read again within a batch is a memo hit ("again").
// `go test -run X -bench NormalizePhone ./domain/`
func BenchmarkNormalizePhone(b *testing.B) {
	b.Run("new", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			if _, err := NormalizePhone(fmt.Sprintf("(201) 2%02d-%04d", i/10000%100, i%10000), "US"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("again", func(b *testing.B) {
		for b.Loop() {
			if _, err := NormalizePhone("(415) 555-0123", "US"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
