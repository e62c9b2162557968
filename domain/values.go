package domain

import (
	"net/mail"
	"strings"
	"unicode/utf8"
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

// NormalizePhone returns a phone number in E.164 form ("+14155550100").
// Accepted input: an optional leading "+" or international "00" prefix, then
// digits with spaces, dots, dashes and parentheses as separators. A number
// given without "+" is read as already carrying its country code, the way
// bulk-import APIs store it ("919876543210"). E.164 allows at most 15 digits
// and no leading zero in the country code; fewer than 8 digits cannot be a
// full international number.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	rest := s
	switch {
	case strings.HasPrefix(rest, "+"):
		rest = rest[1:]
	case strings.HasPrefix(rest, "00"):
		rest = rest[2:]
	}
	digits := make([]byte, 0, 16)
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", InvalidField("phone", "must be an international number in E.164 form, like +14155550100")
		}
	}
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", InvalidField("phone", "must be an international number in E.164 form, like +14155550100")
	}
	return "+" + string(digits), nil
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
