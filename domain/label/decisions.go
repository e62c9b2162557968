package label

import (
	"strings"

	"contacts/domain"
)

var spec = domain.Spec{
	Fields: map[string]domain.Field{
		"title":       {Kind: domain.KindText, Required: true, Min: 1, Max: 50, Check: checkTitle},
		"color":       {Kind: domain.KindText, Default: DefaultColor, Check: normalizeColor},
		"description": {Kind: domain.KindText, Max: 1000},
	},
	Refused: map[string]string{
		"id": "is read-only", "account_id": "is read-only", "created_by": "is read-only",
		"created_at": "is read-only", "updated_at": "is read-only", "deleted": "is read-only",
		"deleted_at": "is read-only", "version": "is read-only",
	},
}

func checkTitle(s string) (string, string) {
	if strings.Contains(s, ",") {
		return s, "must not contain commas"
	}
	return s, ""
}

// normalizeColor accepts "#RGB" and "#RRGGBB" and returns upper-case "#RRGGBB".
func normalizeColor(s string) (string, string) {
	const problem = "must be a colour like #1F93FF or #F9F"
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return s, problem
	}
	hex := strings.ToUpper(s[1:])
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return s, problem
		}
	}
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	return "#" + hex, ""
}

// CreateInput is what Create needs.
type CreateInput struct {
	ID, AccountID, CreatedBy string
	Fields                   map[string]any
}

// Create validates a new label; the colour defaults to DefaultColor.
func Create(in CreateInput) ([]domain.Event, error) {
	parsed, errs := spec.Parse(in.Fields, true)
	if strings.TrimSpace(in.ID) == "" {
		errs.Add("id", "is required")
	}
	if strings.TrimSpace(in.AccountID) == "" {
		errs.Add("account_id", "is required")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	color := domain.ToString(parsed.Values["color"])
	if color == "" {
		color = DefaultColor
	}
	return []domain.Event{LabelCreated{
		ID: in.ID, AccountID: in.AccountID, CreatedBy: in.CreatedBy,
		Title: domain.ToString(parsed.Values["title"]), Color: color,
		Description: domain.ToString(parsed.Values["description"]),
	}}, nil
}

func (l *Label) check() error {
	switch {
	case !l.created:
		return domain.NotFound(kind, l.id)
	case l.deleted:
		return domain.Deleted(kind, l.id)
	}
	return nil
}

// Update changes title, colour (null or "" resets it to the default) and
// description; only real changes are recorded.
func (l *Label) Update(fields map[string]any) ([]domain.Event, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	parsed, errs := spec.Parse(fields, false)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	changes := map[string]domain.Change{}
	for field, old := range map[string]string{"title": l.title, "color": l.color, "description": l.description} {
		if v, ok := parsed.Values[field]; ok && v != old {
			changes[field] = domain.Change{Old: old, New: v}
		}
	}
	if len(changes) == 0 {
		return []domain.Event{}, nil
	}
	return []domain.Event{LabelUpdated{Changes: changes}}, nil
}

// Delete ends the label.
func (l *Label) Delete() ([]domain.Event, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	return []domain.Event{LabelDeleted{}}, nil
}
