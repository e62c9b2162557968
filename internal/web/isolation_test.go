package web_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"contacts/eventstore"
	"contacts/readapi/ws"
)

// The cross-tenant isolation suite: account A (the victim) holds one of
// everything; account B — signed in as its administrator, then with an API
// key holding every scope — calls EVERY route of the router and EVERY
// WebSocket action with A's ids, A's account in the path and A's account in
// the organization-id header. Nothing of A's may show up in any answer, and
// A's rows and events must be exactly as they were.
//
// Routes come from the router itself: a route nobody classified below fails
// the suite, so new routes cannot slip past it.

// routeKind says how a second account may use a route.
type routeKind int

const (
	// routePublic routes carry no account (sign-in, health, the API document).
	routePublic routeKind = iota + 1
	// routeSelf routes act on the caller's own user (profile, sessions, their
	// list of accounts): called by B, they must not touch or show A.
	routeSelf
	// routeGlobal routes show no account's data (projection positions).
	routeGlobal
	// routeTenant routes act on one account's data: named by the token, the
	// organization-id header or the path.
	routeTenant
	// routeWebsocket: WebSocket upgrades (the action walk is separate).
	routeWebsocket
)

type routeClass struct {
	kind routeKind
	// body is the request body B sends (valid, so that the answer is about
	// the tenancy, not about the input).
	body func(v *victim) any
	// want, when set, is the only statuses B may get with the token's own
	// account (routes with A's ids in the path get 403 or 404 regardless).
	want []int
	// headers are sent with every call (the Content-Type of a CSV upload).
	headers []string
}

func bodyOf(m map[string]any) func(*victim) any { return func(*victim) any { return m } }

// isolationRoutes classifies every route, keyed "METHOD path" with the path
// as registered under /api/v1 (routes under /api/v1/accounts/:account_id are
// the same routes, the account in the path; /api/v1/account is the account
// itself).
var isolationRoutes = map[string]routeClass{
	"GET /healthz":                           {kind: routePublic},
	"GET /readyz":                            {kind: routePublic},
	"GET /api/v1/openapi.json":               {kind: routePublic},
	"POST /api/v1/auth/register":             {kind: routePublic},
	"POST /api/v1/auth/login":                {kind: routePublic},
	"POST /api/v1/auth/refresh":              {kind: routePublic},
	"POST /api/v1/auth/invitations/accept":   {kind: routePublic},
	"GET /api/v1/projections":                {kind: routeGlobal},
	"GET /api/v1/auth/validate_token":        {kind: routeSelf},
	"DELETE /api/v1/auth/sign_out":           {kind: routeSelf},
	"GET /api/v1/profile":                    {kind: routeSelf},
	"PUT /api/v1/profile":                    {kind: routeSelf, body: bodyOf(map[string]any{"display_name": "B"})},
	"PATCH /api/v1/profile":                  {kind: routeSelf, body: bodyOf(map[string]any{"display_name": "B"})},
	"PUT /api/v1/profile/set_active_account": {kind: routeSelf, body: func(v *victim) any { return map[string]any{"account_id": v.accountID} }, want: []int{403, 404}},
	"GET /api/v1/accounts":                   {kind: routeSelf},
	"POST /api/v1/accounts":                  {kind: routeSelf, body: bodyOf(map[string]any{"name": "B's second"})},
	"GET /api/v1/contacts/ws":                {kind: routeWebsocket},
	"GET /api/v1/stream":                     {kind: routeWebsocket},

	// CSV import jobs, bulk upsert, export.
	"POST /api/v1/contacts/import": {kind: routeTenant, want: []int{http.StatusAccepted}, headers: []string{"Content-Type", "text/csv"},
		body: func(v *victim) any { return "first_name,email,phone_number\nB,b@b.test," + v.phone + "\n" }},
	"GET /api/v1/contacts/import":                    {kind: routeTenant},
	"GET /api/v1/contacts/import/:job_id":            {kind: routeTenant},
	"GET /api/v1/contacts/import/:job_id/errors":     {kind: routeTenant},
	"GET /api/v1/contacts/import/:job_id/errors.csv": {kind: routeTenant},
	"POST /api/v1/contacts/bulk": {kind: routeTenant, want: []int{http.StatusOK}, body: func(v *victim) any {
		return map[string]any{"contacts": []map[string]any{{"first_name": "B bulk", "phone_number": v.phone}}}
	}},
	"POST /api/v1/contacts/export": {kind: routeTenant, want: []int{http.StatusOK}, body: bodyOf(map[string]any{})},

	"GET /api/v1/account":   {kind: routeTenant},
	"PATCH /api/v1/account": {kind: routeTenant, body: bodyOf(map[string]any{"name": "B renamed", "settings": map[string]any{"x": 1}})},
	"PUT /api/v1/account":   {kind: routeTenant, body: bodyOf(map[string]any{"settings": map[string]any{"y": 1}})},
	"GET /api/v1/agents":    {kind: routeTenant},
	"POST /api/v1/agents": {kind: routeTenant, body: func(*victim) any {
		return map[string]any{"email": "new" + strings.ReplaceAll(eventstore.NewID(), "-", "")[20:] + "@b.test", "role": "agent"}
	}},
	"POST /api/v1/agents/bulk_create": {kind: routeTenant, body: func(*victim) any {
		return map[string]any{"emails": []string{"bulk" + strings.ReplaceAll(eventstore.NewID(), "-", "")[20:] + "@b.test"}}
	}},
	"GET /api/v1/agents/:user_id":     {kind: routeTenant},
	"PATCH /api/v1/agents/:user_id":   {kind: routeTenant, body: bodyOf(map[string]any{"role": "administrator"})},
	"PUT /api/v1/agents/:user_id":     {kind: routeTenant, body: bodyOf(map[string]any{"role": "administrator"})},
	"DELETE /api/v1/agents/:user_id":  {kind: routeTenant},
	"GET /api/v1/api_keys":            {kind: routeTenant},
	"POST /api/v1/api_keys":           {kind: routeTenant, body: bodyOf(map[string]any{"name": "b", "scopes": []string{"read_contacts"}})},
	"GET /api/v1/api_keys/:key_id":    {kind: routeTenant},
	"DELETE /api/v1/api_keys/:key_id": {kind: routeTenant},
	"GET /api/v1/audit_log":           {kind: routeTenant},
	"GET /api/v1/phone_review":        {kind: routeTenant},
	"POST /api/v1/phone_review/scan":  {kind: routeTenant},
	"GET /api/v1/companies":           {kind: routeTenant},
	"POST /api/v1/companies":          {kind: routeTenant, body: bodyOf(map[string]any{"name": "B Corp"})},
	"GET /api/v1/companies/:id":       {kind: routeTenant},
	"PATCH /api/v1/companies/:id":     {kind: routeTenant, body: bodyOf(map[string]any{"name": "pwned"})},
	"PUT /api/v1/companies/:id":       {kind: routeTenant, body: bodyOf(map[string]any{"name": "pwned"})},
	"DELETE /api/v1/companies/:id":    {kind: routeTenant},
	"GET /api/v1/contacts":            {kind: routeTenant},
	"POST /api/v1/contacts":           {kind: routeTenant, body: func(v *victim) any { return map[string]any{"first_name": "B", "company_id": v.company} }, want: []int{422}},
	"POST /api/v1/contacts/merge": {kind: routeTenant, body: func(v *victim) any {
		return map[string]any{"base_contact_id": v.contact, "mergee_contact_id": v.contact2}
	}, want: []int{404}},
	"POST /api/v1/contacts/search":               {kind: routeTenant, body: bodyOf(map[string]any{})},
	"GET /api/v1/contacts/count":                 {kind: routeTenant},
	"GET /api/v1/contacts/uuids":                 {kind: routeTenant},
	"GET /api/v1/contacts/:id":                   {kind: routeTenant},
	"PATCH /api/v1/contacts/:id":                 {kind: routeTenant, body: bodyOf(map[string]any{"title": "pwned"})},
	"PUT /api/v1/contacts/:id":                   {kind: routeTenant, body: bodyOf(map[string]any{"title": "pwned"})},
	"DELETE /api/v1/contacts/:id":                {kind: routeTenant},
	"POST /api/v1/contacts/:id/restore":          {kind: routeTenant},
	"POST /api/v1/contacts/:id/activate":         {kind: routeTenant},
	"POST /api/v1/contacts/:id/inactivate":       {kind: routeTenant},
	"GET /api/v1/contacts/:id/labels":            {kind: routeTenant},
	"POST /api/v1/contacts/:id/labels":           {kind: routeTenant, body: bodyOf(map[string]any{"labels": []string{"pwned"}})},
	"DELETE /api/v1/contacts/:id/labels":         {kind: routeTenant, body: bodyOf(map[string]any{"labels": []string{"x"}})},
	"GET /api/v1/contacts/:id/notes":             {kind: routeTenant},
	"POST /api/v1/contacts/:id/notes":            {kind: routeTenant, body: bodyOf(map[string]any{"content": "pwned"})},
	"PATCH /api/v1/contacts/:id/notes/:note_id":  {kind: routeTenant, body: bodyOf(map[string]any{"content": "pwned"})},
	"PUT /api/v1/contacts/:id/notes/:note_id":    {kind: routeTenant, body: bodyOf(map[string]any{"content": "pwned"})},
	"DELETE /api/v1/contacts/:id/notes/:note_id": {kind: routeTenant},
	"PUT /api/v1/contacts/:id/assignment":        {kind: routeTenant, body: bodyOf(map[string]any{"assigned_to": []string{}, "teams": []string{"pwned"}})},
	"POST /api/v1/contacts/:id/accounts": {kind: routeTenant, body: func(v *victim) any {
		return map[string]any{"account_id": v.accountID, "name": "pwned", "role": "owner"}
	}},
	"DELETE /api/v1/contacts/:id/accounts/:linked_account_id": {kind: routeTenant},
	"PATCH /api/v1/contacts/:id/custom_attributes":            {kind: routeTenant, body: bodyOf(map[string]any{"custom_attributes": map[string]any{"pwned": true}})},
	"POST /api/v1/contacts/:id/destroy_custom_attributes":     {kind: routeTenant, body: bodyOf(map[string]any{"custom_attributes": []string{"secret"}})},
	"GET /api/v1/contacts/:id/events":                         {kind: routeTenant},
	"GET /api/v1/groups":                                      {kind: routeTenant},
	"POST /api/v1/groups":                                     {kind: routeTenant, body: bodyOf(map[string]any{"name": "B group"})},
	"GET /api/v1/groups/:id":                                  {kind: routeTenant},
	"PATCH /api/v1/groups/:id":                                {kind: routeTenant, body: bodyOf(map[string]any{"name": "pwned"})},
	"PUT /api/v1/groups/:id":                                  {kind: routeTenant, body: bodyOf(map[string]any{"name": "pwned"})},
	"DELETE /api/v1/groups/:id":                               {kind: routeTenant},
	"POST /api/v1/groups/:id/add":                             {kind: routeTenant, body: func(v *victim) any { return map[string]any{"contact_ids": []string{v.contact2}} }},
	"POST /api/v1/groups/:id/remove":                          {kind: routeTenant, body: func(v *victim) any { return map[string]any{"contact_ids": []string{v.contact}} }},
	"GET /api/v1/labels":                                      {kind: routeTenant},
	"POST /api/v1/labels":                                     {kind: routeTenant, body: bodyOf(map[string]any{"title": "B label"})},
	"GET /api/v1/labels/:id":                                  {kind: routeTenant},
	"PATCH /api/v1/labels/:id":                                {kind: routeTenant, body: bodyOf(map[string]any{"title": "pwned"})},
	"PUT /api/v1/labels/:id":                                  {kind: routeTenant, body: bodyOf(map[string]any{"title": "pwned"})},
	"DELETE /api/v1/labels/:id":                               {kind: routeTenant},
}

func init() {
	for _, f := range []string{"titles", "companies", "industries", "keywords", "technologies", "company_addresses",
		"contact_addresses", "cities", "states", "countries", "company_cities", "company_states", "company_countries"} {
		isolationRoutes["GET /api/v1/contacts/fields/"+f] = routeClass{kind: routeTenant}
	}
}

// isolationActions gives every WebSocket action the data B sends (A's ids)
// and, when set, the only error code B may get.
var isolationActions = map[string]struct {
	data func(v *victim) map[string]any
	code string
}{
	"list_contacts":     {data: func(*victim) map[string]any { return map[string]any{"limit": 100} }},
	"get_contact":       {data: func(v *victim) map[string]any { return map[string]any{"contact_uuid": v.contact} }, code: "not_found"},
	"count_contacts":    {data: func(*victim) map[string]any { return map[string]any{} }},
	"get_contact_uuids": {data: func(*victim) map[string]any { return map[string]any{} }},
	"create_contact": {data: func(v *victim) map[string]any {
		return map[string]any{"write_key": accessWriteKey, "first_name": "B", "company_id": v.company}
	}, code: "validation_error"},
	"get_import_info": {data: func(*victim) map[string]any { return map[string]any{} }},
	"upload_contacts_csv": {data: func(*victim) map[string]any {
		return map[string]any{"file_name": "b.csv", "file_data": base64.StdEncoding.EncodeToString([]byte("first_name\nB\n"))}
	}},
	"get_import_status": {data: func(v *victim) map[string]any { return map[string]any{"job_id": v.importJob} }, code: "not_found"},
	"get_import_errors": {data: func(v *victim) map[string]any { return map[string]any{"job_id": v.importJob} }, code: "not_found"},
	"subscribe": {data: func(v *victim) map[string]any {
		return map[string]any{"channels": []string{"contact:" + v.contact, "group:" + v.group, "import:" + v.importJob}}
	}, code: "not_found"},
	"unsubscribe": {data: func(v *victim) map[string]any { return map[string]any{"channel": "contact:" + v.contact} }, code: "not_subscribed"},
}

func init() {
	for _, a := range []string{"get_titles", "get_companies", "get_industries", "get_keywords", "get_technologies",
		"get_company_addresses", "get_contact_addresses", "get_cities", "get_states", "get_countries",
		"get_company_cities", "get_company_states", "get_company_countries"} {
		isolationActions[a] = struct {
			data func(v *victim) map[string]any
			code string
		}{data: func(*victim) map[string]any { return map[string]any{"distinct": true} }}
	}
}

// victim is account A, with one of everything.
type victim struct {
	marker                                         string // in every name, e-mail and text of A's
	admin                                          session
	accountID, agentID                             string
	contact, contact2, note, company, group, label string
	keyID, keySecret, invitation                   string
	importJob, phone                               string // an import job (with error rows); the phone of its contact
	ids                                            []string
}

func newVictim(t *testing.T, e *fullEnv) *victim {
	t.Helper()
	m := "zz" + strings.ReplaceAll(eventstore.NewID(), "-", "")[16:]
	v := &victim{marker: m}
	r := e.anon().do("POST", "/api/v1/auth/register", map[string]any{"account_name": "Acct " + m, "name": "Admin " + m,
		"email": "admin." + m + "@victim.test", "password": "correct horse battery"}).want(http.StatusCreated).obj()
	v.admin = session{client: &client{e: e.env, token: str(r["access_token"])}, userID: str(r["user"].(map[string]any)["id"]),
		accountID: str(r["account"].(map[string]any)["id"]), email: "admin." + m + "@victim.test", password: "correct horse battery"}
	v.accountID = v.admin.accountID
	a := v.admin
	v.company = str(a.do("POST", "/api/v1/companies", map[string]any{"name": "Corp " + m, "industries": []string{m + "ind"},
		"keywords": []string{m + "kw"}, "technologies": []string{m + "tech"}, "city": m + "city", "state": m + "state",
		"country": m + "country", "text_search": m + " street"}).want(http.StatusCreated).obj()["id"])
	v.contact = str(a.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Ada" + m, "last_name": m, "email": "ada." + m + "@victim.test",
		"title": m + "title", "city": m + "city", "state": m + "state", "country": m + "country", "text_search": m + " road",
		"company_id": v.company, "custom_attributes": map[string]any{"secret": m}, "labels": []string{m + "lbl"}}).want(http.StatusCreated).obj()["uuid"])
	v.contact2 = str(a.do("POST", "/api/v1/contacts", map[string]any{"first_name": "Bob" + m, "email": "bob." + m + "@victim.test"}).
		want(http.StatusCreated).obj()["uuid"])
	v.note = str(a.do("POST", "/api/v1/contacts/"+v.contact+"/notes", map[string]any{"content": "note " + m}).want(http.StatusCreated).obj()["id"])
	v.group = str(a.do("POST", "/api/v1/groups", map[string]any{"name": "Group " + m}).want(http.StatusCreated).obj()["id"])
	a.do("POST", "/api/v1/groups/"+v.group+"/add", map[string]any{"contact_ids": []string{v.contact}}).want(http.StatusOK)
	v.label = str(a.do("POST", "/api/v1/labels", map[string]any{"title": "Label" + m}).want(http.StatusCreated).obj()["id"])
	a.do("POST", "/api/v1/contacts/"+v.contact+"/accounts", map[string]any{"account_id": v.accountID, "name": m, "role": "buyer"}).want(http.StatusOK)
	added := a.do("POST", "/api/v1/agents", map[string]any{"email": "agent." + m + "@victim.test", "name": "Agent " + m, "role": "agent"}).
		want(http.StatusCreated).obj()
	v.agentID = str(added["id"])
	v.invitation = str(added["invitation"].(map[string]any)["token"])
	key := a.do("POST", "/api/v1/api_keys", map[string]any{"name": "Key " + m, "scopes": []string{"read_contacts", "write_contacts"}}).
		want(http.StatusCreated).obj()
	v.keyID, v.keySecret = str(key["id"]), str(key["key"])
	a.do("PATCH", "/api/v1/account", map[string]any{"settings": map[string]any{"secret": m}}).want(http.StatusOK)
	// An import job, finished, with one contact and one error row.
	v.phone = fmt.Sprintf("+1415555%04d", time.Now().UnixNano()%10000)
	csvFile := "first_name,last_name,email,phone_number\nImp" + m + "," + m + ",imp." + m + "@victim.test," + v.phone +
		"\nBad" + m + "," + m + ",not-an-email,\n"
	v.importJob = str(a.do("POST", "/api/v1/contacts/import", csvFile, "Content-Type", "text/csv").want(http.StatusAccepted).obj()["job_id"])
	if err := e.imports.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if job := a.do("GET", "/api/v1/contacts/import/"+v.importJob, nil).want(http.StatusOK).obj(); job["status"] != "completed" || job["error_count"] != 1.0 {
		t.Fatalf("victim's import job: %v", job)
	}
	v.ids = []string{v.accountID, v.admin.userID, v.agentID, v.contact, v.contact2, v.note, v.company, v.group, v.label, v.keyID, v.importJob}
	e.project(t)
	return v
}

// leak names what of A's the answer holds ("" if nothing). Ids the request
// itself carried may be echoed (in "contact <id> not found").
func (v *victim) leak(answer []byte, request string) string {
	low := strings.ToLower(string(answer))
	switch {
	case strings.Contains(low, v.marker):
		return "A's data (marker " + v.marker + ")"
	case strings.Contains(string(answer), v.keySecret), strings.Contains(string(answer), v.invitation):
		return "A's secret"
	}
	for _, id := range v.ids {
		if strings.Contains(low, id) && !strings.Contains(request, id) {
			return "A's id " + id
		}
	}
	return ""
}

// snapshot is everything of A's that a write could change.
func (v *victim) snapshot(t *testing.T, e *fullEnv) string {
	t.Helper()
	var s string
	err := e.pool.QueryRow(context.Background(), `SELECT concat_ws(' | ',
		(SELECT count(*) || ':' || coalesce(max(position), 0) FROM events WHERE account_id = $1),
		(SELECT string_agg(user_id::text || role, ',' ORDER BY user_id) FROM memberships WHERE account_id = $1),
		(SELECT string_agg(id::text || name || coalesce(revoked_at::text, '') || array_to_string(scopes, ','), ',' ORDER BY id) FROM api_keys WHERE account_id = $1),
		(SELECT name || settings::text FROM accounts WHERE id = $1),
		(SELECT count(*) FROM audit_log WHERE account_id = $1),
		(SELECT count(*) || ':' || count(accepted_at) FROM invitations WHERE account_id = $1),
		(SELECT string_agg(u.id::text || u.name || u.display_name || u.email || u.password_hash, ',' ORDER BY u.id)
			FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.account_id = $1),
		(SELECT count(*) || ':' || count(s.revoked_at) FROM auth_sessions s JOIN memberships m ON m.user_id = s.user_id WHERE m.account_id = $1),
		(SELECT count(*) || ':' || count(revoked_at) FROM refresh_tokens WHERE account_id = $1),
		(SELECT count(*) FROM idempotency_keys WHERE account_id = $1),
		(SELECT count(*) FROM unique_claims WHERE account_id = $1),
		(SELECT count(*) || ':' || count(*) FILTER (WHERE open) FROM import_jobs WHERE account_id = $1),
		(SELECT count(*) FROM import_errors WHERE account_id = $1))`, v.accountID).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var pathParam = regexp.MustCompile(`:([a-z_]+)`)

// fill puts A's ids in the route's parameters.
func (v *victim) fill(path string) string {
	return pathParam.ReplaceAllStringFunc(path, func(p string) string {
		switch p {
		case ":account_id", ":linked_account_id":
			return v.accountID
		case ":user_id":
			return v.agentID
		case ":key_id":
			return v.keyID
		case ":note_id":
			return v.note
		case ":job_id":
			return v.importJob
		}
		switch {
		case strings.Contains(path, "/companies/"):
			return v.company
		case strings.Contains(path, "/groups/"):
			return v.group
		case strings.Contains(path, "/labels/"):
			return v.label
		}
		return v.contact
	})
}

const accountPrefix = "/api/v1/accounts/:account_id"

// twin is the /api/v1 route a /api/v1/accounts/:account_id route mirrors.
func twin(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, accountPrefix)
	if !ok {
		return path, false
	}
	if rest == "" {
		return "/api/v1/account", true
	}
	return "/api/v1" + rest, true
}

func TestCrossTenantIsolation(t *testing.T) {
	e := newFullEnv(t)
	v := newVictim(t, e)
	b := e.register(t)
	before := v.snapshot(t, e)

	// Controls: the checks below can fail — A's own answers do hold the marker.
	for _, path := range []string{"/api/v1/contacts", "/api/v1/contacts/" + v.contact, "/api/v1/agents", "/api/v1/audit_log", "/api/v1/contacts/fields/titles"} {
		if r := v.admin.do("GET", path, nil).want(http.StatusOK); v.leak(r.body, "") == "" {
			t.Fatalf("control: A's own %s does not show A's data: %s", path, r.body)
		}
	}
	(&client{e: e.env, token: b.token}).do("GET", "/api/v1/contacts", nil, "organization-id", b.accountID).want(http.StatusOK)
	v.admin.do("GET", "/api/v1/accounts/"+v.accountID+"/contacts/"+v.contact, nil).want(http.StatusOK)

	// Every route is classified, and every account-scoped route is reachable
	// both ways.
	var unclassified, stale, noTwin []string
	seen := map[string]bool{}
	prefixed := map[string]bool{}
	for _, rt := range e.routes() {
		path, isTwin := twin(rt.Path)
		key := rt.Method + " " + path
		if _, ok := isolationRoutes[key]; !ok {
			unclassified = append(unclassified, rt.Method+" "+rt.Path)
		}
		if isTwin {
			prefixed[key] = true
		} else {
			seen[key] = true
		}
	}
	for key, c := range isolationRoutes {
		if !seen[key] {
			stale = append(stale, key)
		}
		if (c.kind == routeTenant || c.kind == routeWebsocket) && !prefixed[key] {
			noTwin = append(noTwin, key)
		}
	}
	sort.Strings(unclassified)
	sort.Strings(stale)
	sort.Strings(noTwin)
	if len(unclassified) > 0 {
		t.Errorf("routes not classified for the cross-tenant isolation suite (add each to isolationRoutes in "+
			"internal/web/isolation_test.go: routePublic, routeSelf, routeGlobal, routeTenant or routeWebsocket, with a valid body):\n  %s",
			strings.Join(unclassified, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("isolationRoutes lists routes the router does not have: %v", stale)
	}
	if len(noTwin) > 0 {
		t.Errorf("account-scoped routes missing under %s (register them in accountRoutes, internal/web/server.go): %v", accountPrefix, noTwin)
	}

	// B attacks, as a signed-in administrator and with an API key of every scope.
	keyB := str(b.do("POST", "/api/v1/api_keys", map[string]any{"name": "b", "scopes": []string{"read_contacts", "write_contacts"}}).
		want(http.StatusCreated).obj()["key"])
	for _, attacker := range []struct {
		name  string
		token string
		fresh func() string // a token of a new session (self routes may sign it out)
	}{
		{"user", b.token, func() string {
			return str(e.anon().do("POST", "/api/v1/auth/login", map[string]any{"email": b.email, "password": b.password}).want(http.StatusOK).obj()["access_token"])
		}},
		{"api key", keyB, func() string { return keyB }},
	} {
		t.Run(attacker.name, func(t *testing.T) {
			checked := 0
			call := func(route, method, path string, body any, token string, headers ...string) response {
				t.Helper()
				r := (&client{e: e.env, token: token}).do(method, path, body, headers...)
				req := fmt.Sprintf("%s %s %v %v", method, path, body, headers)
				if what := v.leak(r.body, req); what != "" {
					t.Errorf("%s: %s leaked %s: %d %s", route, req, what, r.status, r.body)
				}
				checked++
				return r
			}
			for _, rt := range e.routes() {
				path, isTwin := twin(rt.Path)
				route := rt.Method + " " + rt.Path
				c, ok := isolationRoutes[rt.Method+" "+path]
				if !ok {
					continue
				}
				var body any
				if c.body != nil {
					body = c.body(v)
				}
				filled := v.fill(rt.Path)
				switch {
				case c.kind == routePublic:
				case c.kind == routeWebsocket:
					// The upgrade, A's account in the path or the header.
					if _, r := e.dialWS(t, v.fill(rt.Path), attacker.token, "organization-id", v.accountID); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
						t.Errorf("%s with A's account: handshake %d, want 403/404: %s", route, r.status, r.body)
					}
					if isTwin {
						if _, r := e.dialWS(t, filled, attacker.token); r.status != http.StatusNotFound {
							t.Errorf("%s with A's account in the path: handshake %d, want 404: %s", route, r.status, r.body)
						}
					}
					if path == "/api/v1/stream" && !isTwin {
						// B's own stream, on channels of A's records.
						for _, ch := range []string{"contact:" + v.contact, "group:" + v.group, "import:" + v.importJob} {
							if _, r := e.dialWS(t, filled+"?channels="+ch, attacker.token); r.status != http.StatusNotFound {
								t.Errorf("%s on A's channel %s: handshake %d, want 404: %s", route, ch, r.status, r.body)
							}
						}
					}
					checked++
				case isTwin:
					if r := call(route, rt.Method, filled, body, attacker.token, c.headers...); r.status != http.StatusNotFound {
						t.Errorf("%s with A's account in the path: %d, want 404: %s", route, r.status, r.body)
					}
				case c.kind == routeSelf:
					r := call(route, rt.Method, filled, body, attacker.fresh())
					if len(c.want) > 0 && !statusIn(r.status, c.want) {
						t.Errorf("%s: %d, want %v: %s", route, r.status, c.want, r.body)
					}
				case c.kind == routeGlobal:
					call(route, rt.Method, filled, body, attacker.token)
				default: // routeTenant
					r := call(route, rt.Method, filled, body, attacker.token, c.headers...)
					switch {
					case strings.Contains(rt.Path, ":"):
						if r.status != http.StatusNotFound && r.status != http.StatusForbidden {
							t.Errorf("%s with A's ids: %d, want 403/404: %s", route, r.status, r.body)
						}
					case len(c.want) > 0 && !statusIn(r.status, c.want):
						t.Errorf("%s: %d, want %v: %s", route, r.status, c.want, r.body)
					}
					if c.body != nil {
						body = c.body(v)
					}
					if r := call(route, rt.Method, filled, body, attacker.token, append([]string{"organization-id", v.accountID}, c.headers...)...); r.status != http.StatusForbidden {
						t.Errorf("%s with organization-id of A: %d, want 403: %s", route, r.status, r.body)
					}
				}
			}
			// Ids of A's in a body, on B's own records.
			bGroup := str(call("POST /groups", "POST", "/api/v1/groups", map[string]any{"name": "B's " + attacker.name}, attacker.token).want(http.StatusCreated).obj()["id"])
			if r := call("POST /groups/:id/add", "POST", "/api/v1/groups/"+bGroup+"/add", map[string]any{"contact_ids": []string{v.contact}}, attacker.token); r.status < 400 {
				t.Errorf("B's group took A's contact: %d %s", r.status, r.body)
			}
			bContact := str(call("POST /contacts", "POST", "/api/v1/contacts", map[string]any{"first_name": "B " + attacker.name}, attacker.token).want(http.StatusCreated).obj()["uuid"])
			if r := call("PUT /contacts/:id/assignment", "PUT", "/api/v1/contacts/"+bContact+"/assignment", map[string]any{"assigned_to": []string{v.agentID}}, attacker.token); r.status != http.StatusUnprocessableEntity {
				t.Errorf("B's contact assigned to A's user: %d %s", r.status, r.body)
			}

			// Every WebSocket action, with A's ids.
			conn, r := e.dialWS(t, "/api/v1/contacts/ws", attacker.token)
			if conn == nil {
				t.Fatalf("B's WebSocket: %d %s", r.status, r.body)
			}
			var unknown []string
			for action := range ws.Actions() {
				spec, ok := isolationActions[action]
				if !ok {
					unknown = append(unknown, action)
					continue
				}
				raw, answer := conn.call(action, spec.data(v))
				if what := v.leak(raw, fmt.Sprint(spec.data(v))); what != "" {
					t.Errorf("WS %s leaked %s: %s", action, what, raw)
				}
				if spec.code != "" && wsErrCode(answer) != spec.code {
					t.Errorf("WS %s with A's ids: %s, want error %s", action, raw, spec.code)
				}
				checked++
			}
			if len(unknown) > 0 {
				sort.Strings(unknown)
				t.Errorf("WebSocket actions not classified (add them to isolationActions in internal/web/isolation_test.go): %v", unknown)
			}
			if checked < 200 {
				t.Errorf("only %d requests checked", checked)
			}
			t.Logf("%d requests and WebSocket actions checked", checked)
			if after := v.snapshot(t, e); after != before {
				t.Errorf("A's state changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	// The audit trail: every event appended above — by users and API keys,
	// over REST and the WebSocket — names who acted and in answer to what.
	var total, anonymous, byKey int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*),
			count(*) FILTER (WHERE coalesce(metadata->>'actor', '') = '' OR coalesce(metadata->>'request_id', '') = ''
				OR metadata->>'actor_type' NOT IN ('user', 'api_key')
				OR (metadata->>'actor_type' = 'api_key') <> (metadata->>'actor' LIKE 'key:%')),
			count(*) FILTER (WHERE metadata->>'actor_type' = 'api_key')
		FROM events`).Scan(&total, &anonymous, &byKey); err != nil {
		t.Fatal(err)
	}
	if total < 10 || anonymous != 0 || byKey == 0 {
		t.Errorf("events: %d, without a proper actor: %d, by API keys: %d", total, anonymous, byKey)
	}

	// A still works, and its WebSocket shows its own data (the WS control).
	v.admin.do("GET", "/api/v1/contacts/"+v.contact, nil).want(http.StatusOK)
	conn, _ := e.dialWS(t, "/api/v1/contacts/ws", v.admin.token)
	if raw, _ := conn.call("get_contact", map[string]any{"contact_uuid": v.contact}); v.leak(raw, "") == "" {
		t.Fatalf("control: A's own get_contact: %s", raw)
	}
}

func statusIn(status int, want []int) bool {
	for _, w := range want {
		if status == w {
			return true
		}
	}
	return false
}
