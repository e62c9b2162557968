package domain

import (
	"net/mail"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// NormalizeEmail trims and validates an address and lower-cases its domain
// (the local part is case-sensitive by RFC 5321, so it is kept as given).
// Display names ("Jo <jo@x.io>") are refused: the field holds an address.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > 254 {
		return "", InvalidField("email", "is longer than 254 characters")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Name != "" || addr.Address != s {
		return "", InvalidField("email", "is not a valid e-mail address")
	}
	at := strings.LastIndexByte(s, '@')
	domainPart := strings.ToLower(s[at+1:])
	if !strings.Contains(domainPart, ".") || strings.HasPrefix(domainPart, ".") || strings.HasSuffix(domainPart, ".") {
		return "", InvalidField("email", "is not a valid e-mail address")
	}
	return s[:at+1] + domainPart, nil
}

// NormalizePhone returns a phone number in E.164 form ("+14155550100"),
// parsed and validated with libphonenumber's metadata. region is the ISO
// 3166 alpha-2 country a number written without its country code belongs
// to (the account's default_phone_region, or one given with the request);
// "" means there is none, and then only international numbers are taken:
// "+" (or the "00" international prefix) and the country code. A number
// without "+" is never read as already carrying a country code, because
// "(415) 555-0123" would then become a Swiss number. Numbers that are not
// valid for their country, and numbers with an extension (E.164 cannot
// keep it), are refused.
func NormalizePhone(s, region string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	k := phoneKey{s, region}
	if r, ok := phones.get(k); ok {
		return r.value, r.err()
	}
	v, err := normalizePhone(s, region)
	r := phoneResult{value: v}
	if err != nil {
		r.problem = problemOf(err)
	}
	phones.put(k, r)
	return v, err
}

// phones memoises NormalizePhone, a pure function of its input: an import
// reads each number several times (the duplicate scan, the upsert key, the
// decision) and libphonenumber's parse and validation cost about 20 µs of
// CPU a number. Bounded: emptied when full, which keeps the latest batch's.
var phones = phoneMemo{m: map[phoneKey]phoneResult{}}

const phoneMemoSize = 16384

type phoneKey struct{ s, region string }

type phoneResult struct{ value, problem string }

func (r phoneResult) err() error {
	if r.problem == "" {
		return nil
	}
	return InvalidField("phone", r.problem)
}

type phoneMemo struct {
	mu sync.Mutex
	m  map[phoneKey]phoneResult
}

func (m *phoneMemo) get(k phoneKey) (phoneResult, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.m[k]
	return r, ok
}

func (m *phoneMemo) put(k phoneKey, r phoneResult) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.m) >= phoneMemoSize {
		clear(m.m)
	}
	m.m[k] = r
}

func normalizePhone(s, region string) (string, error) {
	if len(s) > 64 {
		return "", InvalidField("phone", "is longer than 64 characters")
	}
	international := strings.HasPrefix(s, "+") || strings.HasPrefix(s, "tel:+")
	if !international && strings.HasPrefix(s, "00") {
		// The ITU international prefix, as most of the world dials it;
		// no national number starts with it.
		s, international = "+"+s[2:], true
	}
	if !international && region == "" {
		return "", InvalidField("phone", "must start with + and the country code, like +14155550100 "+
			"(set the account's default_phone_region to accept national numbers)")
	}
	n, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", InvalidField("phone", phoneProblem(region))
	}
	if n.GetExtension() != "" {
		return "", InvalidField("phone", "must not carry an extension")
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", InvalidField("phone", phoneProblem(region))
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

func phoneProblem(region string) string {
	if region == "" {
		return "is not a valid phone number"
	}
	return "is not a valid phone number (national numbers are read as " + region + ")"
}

// NormalizePhoneRegion validates a default phone region: an ISO 3166
// alpha-2 code that libphonenumber has numbering metadata for, returned
// upper-case ("" stays "": no default region).
func NormalizePhoneRegion(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" {
		return "", nil
	}
	if len(s) != 2 || !phonenumbers.GetSupportedRegions()[s] {
		return "", InvalidField("phone_region", "must be an ISO 3166 alpha-2 country code, like US or GB")
	}
	return s, nil
}

// PhoneSuspicion is why a stored number was probably misread.
type PhoneSuspicion struct {
	Reason    string // "national_number_read_as_international" or "invalid"
	Suggested string // the number read as national in the region ("" when none)
}

// SuspectPhone tells whether a stored E.164 number was probably misread
// by the old normalisation, which took digits written without "+" as
// already carrying a country code: the stored digits, read as a national
// number of region, make a valid number, while the stored number is
// invalid or belongs to another country. A stored number that is simply
// invalid is reported too (Suggested ""). ok is false when nothing is
// wrong. Nothing is rewritten: the caller reports it for review.
func SuspectPhone(stored, region string) (PhoneSuspicion, bool) {
	stored = strings.TrimSpace(stored)
	if stored == "" {
		return PhoneSuspicion{}, false
	}
	n, err := phonenumbers.Parse(stored, "")
	valid := err == nil && phonenumbers.IsValidNumber(n)
	if region != "" {
		digits := strings.TrimPrefix(stored, "+")
		if national, err := phonenumbers.Parse(digits, region); err == nil && phonenumbers.IsValidNumber(national) {
			suggested := phonenumbers.Format(national, phonenumbers.E164)
			if suggested != stored && (!valid || phonenumbers.GetRegionCodeForNumber(n) != region) {
				return PhoneSuspicion{Reason: "national_number_read_as_international", Suggested: suggested}, true
			}
		}
	}
	if !valid {
		return PhoneSuspicion{Reason: "invalid"}, true
	}
	return PhoneSuspicion{}, false
}

// CheckLength validates the length of a trimmed text value in characters
// (not bytes). min 0 means optional.
func CheckLength(errs Errors, field, value string, min, max int) {
	n := utf8.RuneCountInString(value)
	switch {
	case !utf8.ValidString(value):
		errs.Add(field, "is not valid UTF-8")
	case min > 0 && n < min:
		if min == 1 {
			errs.Add(field, "is required")
		} else {
			errs.Add(field, "is too short")
		}
	case max > 0 && n > max:
		errs.Add(field, "must be at most "+itoa(max)+" characters")
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
