package text

import "strings"

// formulaStart holds the characters that make a spreadsheet (Excel,
// LibreOffice, Google Sheets) read a cell as a formula: OWASP's list for
// CSV injection.
const formulaStart = "=+-@\t\r"

// EscapeFormula neutralises a text cell of a CSV export as OWASP
// recommends (https://owasp.org/www-community/attacks/CSV_Injection): a
// value beginning with =, +, -, @, tab or carriage return gets a single
// quote in front, so a spreadsheet shows it as text instead of running it
// (`=HYPERLINK(…)`, `@SUM(…)`, `+cmd|…`). All such values are prefixed,
// E.164 phone numbers ("+14155550100") included: telling harmless ones
// apart is what attackers exploit. Our CSV import undoes it
// (UnescapeFormula), so an export imports back unchanged.
func EscapeFormula(s string) string {
	if s != "" && strings.IndexByte(formulaStart, s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// UnescapeFormula is EscapeFormula's inverse for imported cells: a single
// quote followed by a formula character is dropped ("'+14155550100" →
// "+14155550100"); any other value is unchanged.
func UnescapeFormula(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.IndexByte(formulaStart, s[1]) >= 0 {
		return s[1:]
	}
	return s
}
