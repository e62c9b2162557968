package readapi

// TextFilterKeys and ExclusionKeys let the external tests walk every text
// filter the query model has.
var TextFilterKeys = textFilterKeys

func ExclusionKeys() []string {
	out := make([]string, 0, len(exclusionKeys))
	for k := range exclusionKeys {
		out = append(out, k)
	}
	return out
}
