package esstore

import "contacts/projections"

// Normalizer is the name of the custom keyword normalizer every text-like
// keyword field uses: lower-case plus ASCII folding, so term filters,
// sorting and aggregations are case- and accent-insensitive. It is not named
// "lowercase" because Elasticsearch ships a built-in normalizer of that name
// and plans to forbid custom analysis components that shadow built-ins
// (elastic/elasticsearch#22263).
const Normalizer = "lowercase_folding"

// ExactNormalizer lower-cases only (no folding): the ".lower" subfield of
// every text-like and list field uses it, so the read API's filters, sorting
// and distinct values over Elasticsearch compare values as PostgreSQL's
// lower() does ("zürich" does not contain "u"). See readapi/esquery.
const ExactNormalizer = "lowercase_exact"

// LowerSubfield is the name of that subfield.
const LowerSubfield = "lower"

// RawSubfield is the keyword subfield of text fields kept as written (no
// normalizer): the spelling a distinct-values aggregation returns.
const RawSubfield = "raw"

func lowerKeyword() map[string]any {
	return map[string]any{"type": "keyword", "normalizer": ExactNormalizer, "ignore_above": maxKeywordChars}
}

// maxKeywordChars bounds indexed keyword values: Lucene refuses terms over
// 32766 bytes (8191 characters of up to 4 bytes each). Longer values stay in
// _source but are not indexed, instead of failing the whole document.
const maxKeywordChars = 8191

// id is an exact, case-sensitive identifier (uuid, account_id, company_id…).
func id() map[string]any { return map[string]any{"type": "keyword"} }

// text is a text-like field: keyword with the normalizer (filters, sort,
// distinct values) plus a ".text" subfield analysed with the standard
// analyzer (full-text search).
func text() map[string]any {
	return map[string]any{
		"type":         "keyword",
		"normalizer":   Normalizer,
		"ignore_above": maxKeywordChars,
		"fields": map[string]any{
			"text":        map[string]any{"type": "text", "analyzer": "standard"},
			LowerSubfield: lowerKeyword(),
			RawSubfield:   map[string]any{"type": "keyword", "ignore_above": maxKeywordChars},
		},
	}
}

// list is an array of short strings (labels, departments, industries…):
// keyword with the normalizer.
func list() map[string]any {
	return map[string]any{"type": "keyword", "normalizer": Normalizer, "ignore_above": maxKeywordChars,
		"fields": map[string]any{LowerSubfield: lowerKeyword()}}
}

func date() map[string]any    { return map[string]any{"type": "date"} }
func boolean() map[string]any { return map[string]any{"type": "boolean"} }
func long() map[string]any    { return map[string]any{"type": "long"} }
func integer() map[string]any { return map[string]any{"type": "integer"} }

// flattened holds free-form attribute maps: any keys, indexed as keywords,
// without growing the mapping (dynamic: strict does not apply inside).
func flattened() map[string]any {
	return map[string]any{"type": "flattened", "ignore_above": maxKeywordChars}
}

func object(props map[string]any) map[string]any {
	return map[string]any{"type": "object", "properties": props}
}

// lifecycle adds the fields every document has.
func lifecycle(props map[string]any) map[string]any {
	for k, v := range map[string]any{
		"account_id": id(),
		"created_by": id(),
		"created_at": date(),
		"updated_at": date(),
		"deleted":    boolean(),
		"deleted_at": date(),
		"version":    long(),
		"position":   long(),
	} {
		props[k] = v
	}
	return props
}

// companyProfile is company.Profile: a company document's own fields, and
// (with "id") a contact's denormalised company.
func companyProfile() map[string]any {
	return map[string]any{
		"name":           text(),
		"domain":         text(),
		"industries":     list(),
		"keywords":       list(),
		"technologies":   list(),
		"employees":      long(),
		"annual_revenue": map[string]any{"type": "double"},
		"address_line":   text(),
		"city":           text(),
		"state":          text(),
		"postcode":       text(),
		"country":        text(),
		"text_search":    text(),
		"phone":          text(),
		"website":        text(),
	}
}

// root is a root mapping: strict, so a field the mapping does not know fails
// the write loudly instead of growing the mapping.
func root(props map[string]any) map[string]any {
	return map[string]any{"dynamic": "strict", "properties": props}
}

// contactsMapping is the mapping of the contacts read model (ContactDoc).
func contactsMapping() map[string]any {
	company := companyProfile()
	company["id"] = id()
	props := lifecycle(map[string]any{
		"uuid": id(),
		"name": text(),
		// contact.Profile
		"identifier":            text(),
		"first_name":            text(),
		"last_name":             text(),
		"title":                 text(),
		"seniority":             text(),
		"departments":           list(),
		"email":                 text(),
		"email_status":          text(),
		"secondary_email":       text(),
		"phone":                 text(),
		"mobile_phone":          text(),
		"language_code":         text(),
		"avatar_url":            text(),
		"address_line":          text(),
		"street":                text(),
		"city":                  text(),
		"state":                 text(),
		"postcode":              text(),
		"country":               text(),
		"text_search":           text(),
		"company_id":            id(),
		"opt_out":               boolean(),
		"opt_out_marketing":     boolean(),
		"reply_bot_enabled":     boolean(),
		"blocked":               boolean(),
		"last_activity_at":      date(),
		"additional_attributes": flattened(),
		// contact.State
		"labels": list(),
		// Notes are returned with the document but never searched: kept in
		// _source only; notes_count is what filters and sorts use.
		"notes":       map[string]any{"type": "object", "enabled": false},
		"notes_count": integer(),
		"assigned_to": list(),
		"teams":       list(),
		"associated_accounts": object(map[string]any{
			"account_id": id(),
			"name":       text(),
			"role":       list(),
		}),
		"custom_attributes": flattened(),
		"inactivated_at":    date(),
		"active":            boolean(),
		"merged_into":       id(),
		"erased":            boolean(),
		// Denormalised.
		"company": object(company),
		"groups": object(map[string]any{
			"id":   id(),
			"name": text(),
		}),
	})
	return root(props)
}

// companiesMapping is the mapping of the companies read model (CompanyDoc).
func companiesMapping() map[string]any {
	props := lifecycle(companyProfile())
	props["id"] = id()
	return root(props)
}

// groupsMapping is the mapping of the groups read model (GroupDoc).
func groupsMapping() map[string]any {
	return root(lifecycle(map[string]any{
		"id":           id(),
		"name":         text(),
		"description":  text(),
		"member_count": integer(),
		"contact_ids":  id(),
	}))
}

// labelsMapping is the mapping of the labels read model (LabelDoc).
func labelsMapping() map[string]any {
	return root(lifecycle(map[string]any{
		"id":          id(),
		"title":       text(),
		"color":       list(),
		"description": text(),
		// Computed by the reader from the contacts index; written as 0, never queried.
		"usage_count": map[string]any{"type": "long", "index": false, "doc_values": false},
	}))
}

// mappingOf returns the mapping of read model name.
func mappingOf(name string) map[string]any {
	switch name {
	case projections.Contacts:
		return contactsMapping()
	case projections.Companies:
		return companiesMapping()
	case projections.Groups:
		return groupsMapping()
	case projections.Labels:
		return labelsMapping()
	}
	return nil
}

// indexSettings are the settings of every read-model index.
func indexSettings(replicas int) map[string]any {
	return map[string]any{
		"number_of_shards":   1,
		"number_of_replicas": replicas,
		"refresh_interval":   "1s",
		"analysis": map[string]any{
			"normalizer": map[string]any{
				Normalizer: map[string]any{
					"type":   "custom",
					"filter": []string{"lowercase", "asciifolding"},
				},
				ExactNormalizer: map[string]any{
					"type":   "custom",
					"filter": []string{"lowercase"},
				},
			},
		},
	}
}

// indexBody is the body of an index creation (PUT /<index>): settings,
// mappings, and the aliases the new index joins at once.
func indexBody(name string, replicas int, aliases ...string) map[string]any {
	body := map[string]any{
		"settings": indexSettings(replicas),
		"mappings": mappingOf(name),
	}
	if len(aliases) > 0 {
		as := map[string]any{}
		for _, a := range aliases {
			as[a] = map[string]any{}
		}
		body["aliases"] = as
	}
	return body
}

// templateBody is the composable index template of read model name: every
// index matching "<prefix><name>-v*" (live or rebuilt) gets the same
// settings and mapping. Aliases are deliberately not part of it: a rebuild
// index must not join the live alias before the swap.
func templateBody(prefix, name string, replicas int) map[string]any {
	return map[string]any{
		"index_patterns": []string{prefix + name + "-v*"},
		"priority":       200,
		"template": map[string]any{
			"settings": indexSettings(replicas),
			"mappings": mappingOf(name),
		},
		"_meta": map[string]any{"managed_by": "contacts/projections/esstore", "read_model": name},
	}
}
