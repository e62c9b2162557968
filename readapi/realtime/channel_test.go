package realtime

import (
	"fmt"
	"testing"

	"contacts/eventstore"
)

func TestParseChannel(t *testing.T) {
	id := "0190F0E4-1C2B-7A3D-9E4F-123456789ABC"
	tests := []struct {
		in, want, code string
	}{
		{"contacts", "contacts", ""},
		{" groups ", "groups", ""},
		{"labels", "labels", ""},
		{"companies", "companies", ""},
		{"imports", "imports", ""},
		{"contact:" + id, "contact:0190f0e4-1c2b-7a3d-9e4f-123456789abc", ""},
		{"group:" + id, "group:0190f0e4-1c2b-7a3d-9e4f-123456789abc", ""},
		{"import:" + id, "import:0190f0e4-1c2b-7a3d-9e4f-123456789abc", ""},
		{"contact", "", CodeInvalidChannel},
		{"contact:42", "", CodeInvalidChannel},
		{"contacts:" + id, "", CodeInvalidChannel},
		{"label:" + id, "", CodeInvalidChannel},
		{"", "", CodeInvalidChannel},
		{"everything", "", CodeInvalidChannel},
	}
	for _, tt := range tests {
		c, err := ParseChannel(tt.in)
		if tt.code != "" {
			e, ok := err.(*Error)
			if !ok || e.Code != tt.code {
				t.Errorf("ParseChannel(%q) = %v, %v; want error %s", tt.in, c, err, tt.code)
			}
			continue
		}
		if err != nil || c.String() != tt.want {
			t.Errorf("ParseChannel(%q) = %q, %v; want %q", tt.in, c, err, tt.want)
		}
	}
}

func TestChannelsOf(t *testing.T) {
	const id = "0190f0e4-1c2b-7a3d-9e4f-123456789abc"
	tests := []struct {
		streamType, eventType string
		want                  string
	}{
		{"contact", "contact.created", "[contact:" + id + " contacts]"},
		{"contact", "contact.merged", "[contact:" + id + " contacts]"},
		{"group", "group.members_added", "[group:" + id + " groups]"},
		{"label", "label.updated", "[labels]"},
		{"company", "company.deleted", "[companies]"},
		{"import_job", "import.progress", "[import:" + id + " imports]"},
		{"import", "import.completed", "[import:" + id + " imports]"},
		{"import_job", "import_job.created", "[import:" + id + " imports]"},
		{"other", "other.thing", "[]"},
	}
	for _, tt := range tests {
		got := fmt.Sprint(channelsOf(eventstore.Event{StreamType: tt.streamType, Type: tt.eventType, StreamID: id}))
		if got != tt.want {
			t.Errorf("%s %s: %s, want %s", tt.streamType, tt.eventType, got, tt.want)
		}
	}
}

func TestKeyAndPick(t *testing.T) {
	chans := []Channel{{Kind: KindGroups}, {Kind: KindContacts}, {Kind: KindContacts}}
	if k := Key(chans); k != "contacts,groups" {
		t.Fatalf("Key = %q", k)
	}
	s := &Subscription{channels: []string{"contact:x", "contacts"}}
	if got := s.pick([]string{"contact:x", "contacts"}); got != "contact:x" {
		t.Fatalf("pick = %q, want the most specific", got)
	}
	if got := s.pick([]string{"group:y", "groups"}); got != "" {
		t.Fatalf("pick = %q, want none", got)
	}
}
