// Package seed generates realistic contacts and companies for benchmarks
// and demos, through the event store: the same events, unique claims and
// projections as real writes, appended in large multi-stream batches.
package seed

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"contacts/domain"
	"contacts/domain/company"
	"contacts/domain/contact"
	"contacts/eventstore"
)

// Appender is the event store's write side.
type Appender interface {
	Append(ctx context.Context, req eventstore.AppendRequest) ([]eventstore.Event, error)
}

// Options say what to generate.
type Options struct {
	AccountID string
	ActorID   string
	Contacts  int
	Companies int    // default Contacts/20 (at least 1)
	Seed      uint64 // the same seed gives the same names and values (ids are always new)
	BatchSize int    // streams per append, default 500
	Progress  func(done, total int)
}

var (
	firstNames  = []string{"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen", "Wei", "Aisha", "Hiroshi", "Priya", "Olga", "Mateo", "Fatima", "Lars", "Chloé", "Ngozi"}
	lastNames   = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Nguyen", "Khan", "Tanaka", "Müller", "Rossi", "Okafor", "Novak", "Dubois", "Silva"}
	titles      = []string{"CEO", "CTO", "CFO", "COO", "VP Engineering", "VP Sales", "VP Marketing", "Head of Product", "Engineering Manager", "Software Engineer", "Senior Software Engineer", "Data Scientist", "Product Manager", "Account Executive", "Sales Director", "Marketing Manager", "HR Director", "Recruiter", "Designer", "DevOps Engineer", "Technology Consultant", "Chief Technology Officer", "IT Manager", "Operations Manager", "Customer Success Manager"}
	seniorities = []string{"c-level", "vp", "director", "manager", "senior", "entry", "intern"}
	departments = []string{"engineering", "sales", "marketing", "finance", "operations", "product", "human resources", "executive", "legal", "support"}
	places      = []struct{ city, state, country string }{
		{"San Francisco", "CA", "United States"}, {"New York", "NY", "United States"}, {"Austin", "TX", "United States"},
		{"Seattle", "WA", "United States"}, {"Denver", "CO", "United States"}, {"Boston", "MA", "United States"},
		{"Chicago", "IL", "United States"}, {"London", "England", "United Kingdom"}, {"Manchester", "England", "United Kingdom"},
		{"Toronto", "ON", "Canada"}, {"Vancouver", "BC", "Canada"}, {"Berlin", "Berlin", "Germany"}, {"Munich", "Bavaria", "Germany"},
		{"Paris", "Île-de-France", "France"}, {"Madrid", "Madrid", "Spain"}, {"Bangalore", "Karnataka", "India"},
		{"Tokyo", "Tokyo", "Japan"}, {"Sydney", "NSW", "Australia"}, {"São Paulo", "SP", "Brazil"}, {"Lagos", "Lagos", "Nigeria"},
	}
	industries   = []string{"Technology", "Software", "Healthcare", "Finance", "Banking", "Insurance", "Retail", "E-commerce", "Manufacturing", "Education", "Media", "Telecommunications", "Energy", "Logistics", "Real Estate", "Biotechnology", "Consulting", "Automotive", "Hospitality", "Government"}
	keywords     = []string{"saas", "cloud", "enterprise", "b2b", "b2c", "ai", "machine learning", "analytics", "security", "payments", "marketplace", "mobile", "iot", "open source", "devops", "crm", "automation", "fintech", "healthtech", "edtech"}
	technologies = []string{"Python", "Go", "Java", "JavaScript", "TypeScript", "React", "Django", "PostgreSQL", "MySQL", "MongoDB", "Redis", "Kafka", "Elasticsearch", "AWS", "GCP", "Azure", "Kubernetes", "Docker", "Salesforce", "HubSpot", "Snowflake", "Terraform"}
	nameParts    = []string{"Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Cyberdyne", "Tyrell", "Wonka", "Gringotts", "Oceanic", "Pied Piper", "Aperture", "Black Mesa", "Massive Dynamic", "Nakatomi", "Monarch"}
	suffixes     = []string{"Corp", "Inc", "Labs", "Systems", "Technologies", "Solutions", "Group", "Partners", "Software", "Analytics"}
	labels       = []string{"lead", "customer", "vip", "newsletter", "partner", "prospect", "churned", "event-2026"}
	statuses     = []string{"valid", "valid", "valid", "invalid", "unknown", "risky"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func pickN(r *rand.Rand, xs []string, n int) []any {
	out := make([]any, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		x := pick(r, xs)
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// Run appends the companies, then the contacts, and returns how many
// events it appended.
func Run(ctx context.Context, store Appender, opt Options) (int, error) {
	if opt.Companies <= 0 {
		opt.Companies = max(1, opt.Contacts/20)
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 500
	}
	r := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))
	total := opt.Companies + opt.Contacts
	done, events := 0, 0

	companyIDs := make([]string, opt.Companies)
	for start := 0; start < opt.Companies; start += opt.BatchSize {
		var req eventstore.AppendRequest
		for i := start; i < min(start+opt.BatchSize, opt.Companies); i++ {
			id := eventstore.NewID()
			companyIDs[i] = id
			p := pick(r, places)
			name := fmt.Sprintf("%s %s %d", pick(r, nameParts), pick(r, suffixes), i)
			evs, err := company.Create(company.CreateInput{ID: id, AccountID: opt.AccountID, CreatedBy: opt.ActorID, Fields: map[string]any{
				"name": name, "domain": strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".example",
				"industries": pickN(r, industries, 1+r.IntN(3)), "keywords": pickN(r, keywords, 2+r.IntN(4)),
				"technologies": pickN(r, technologies, 2+r.IntN(5)), "employees": float64(5 + r.IntN(20000)),
				"annual_revenue": float64(100_000 + r.IntN(500_000_000)), "city": p.city, "state": p.state, "country": p.country,
				"address_line": fmt.Sprintf("%d Main St", 1+r.IntN(999)),
				"text_search":  fmt.Sprintf("%d Main St, %s, %s, %s", 1+r.IntN(999), p.city, p.state, p.country),
			}})
			if err != nil {
				return events, err
			}
			sa, err := stream(opt.AccountID, company.StreamType, id, evs)
			if err != nil {
				return events, err
			}
			req.Streams = append(req.Streams, sa)
			events += len(sa.Events)
		}
		if _, err := store.Append(ctx, req); err != nil {
			return events, fmt.Errorf("seed companies: %w", err)
		}
		done += len(req.Streams)
		report(opt, done, total)
	}

	for start := 0; start < opt.Contacts; start += opt.BatchSize {
		var req eventstore.AppendRequest
		for i := start; i < min(start+opt.BatchSize, opt.Contacts); i++ {
			id := eventstore.NewID()
			first, last := pick(r, firstNames), pick(r, lastNames)
			p := pick(r, places)
			email := fmt.Sprintf("%s.%s.%d@%s", strings.ToLower(first), strings.ToLower(last), i, "mail.example")
			fields := map[string]any{
				"first_name": first, "last_name": last, "email": email, "email_status": pick(r, statuses),
				"title": pick(r, titles), "seniority": pick(r, seniorities), "departments": pickN(r, departments, 1+r.IntN(2)),
				"city": p.city, "state": p.state, "country": p.country,
				"text_search":  fmt.Sprintf("%d %s Ave, %s, %s", 1+r.IntN(9999), pick(r, lastNames), p.city, p.state),
				"mobile_phone": fmt.Sprintf("+1%010d", 2_012_000_000+int64(i)), "tags": pickN(r, labels, r.IntN(3)),
			}
			if r.IntN(10) < 9 { // most contacts work somewhere
				fields["company_id"] = companyIDs[r.IntN(len(companyIDs))]
			}
			evs, err := contact.Create(contact.CreateInput{ID: id, AccountID: opt.AccountID, CreatedBy: opt.ActorID, Fields: fields})
			if err != nil {
				return events, err
			}
			sa, err := stream(opt.AccountID, contact.StreamType, id, evs)
			if err != nil {
				return events, err
			}
			req.Streams = append(req.Streams, sa)
			req.Claims = append(req.Claims, eventstore.Claim{AccountID: opt.AccountID, Kind: "email", Value: strings.ToLower(email), StreamID: id})
			events += len(sa.Events)
		}
		req.RecordedAt = time.Now()
		if _, err := store.Append(ctx, req); err != nil {
			return events, fmt.Errorf("seed contacts: %w", err)
		}
		done += len(req.Streams)
		report(opt, done, total)
	}
	return events, nil
}

func report(opt Options, done, total int) {
	if opt.Progress != nil {
		opt.Progress(done, total)
	}
}

func stream(accountID, streamType, id string, evs []domain.Event) (eventstore.StreamAppend, error) {
	sa := eventstore.StreamAppend{AccountID: accountID, StreamType: streamType, StreamID: id}
	for _, e := range evs {
		data, err := json.Marshal(e)
		if err != nil {
			return sa, err
		}
		sa.Events = append(sa.Events, eventstore.NewEvent{Type: e.EventType(), Data: data})
	}
	return sa, nil
}
