package rest

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"contacts/commands"
	"contacts/domain/company"
	"contacts/domain/group"
	"contacts/domain/label"
	"contacts/internal/web/edge"
)

// resource wires create/get/update/delete for one aggregate kind whose
// commands take a field map; the shapes are the same for companies, groups
// and labels.
type resource[S any] struct {
	a       *Routes
	version func(S) int64
	id      func(S) string
	path    string
	create  func(ctx context.Context, accountID, actorID, id string, fields map[string]any) (S, error)
	get     func(ctx context.Context, accountID, id string) (S, error)
	update  func(ctx context.Context, accountID, id string, expected *int64, fields map[string]any) (S, error)
	remove  func(ctx context.Context, ref commands.Ref) (S, error)
}

func (res resource[S]) register(r *gin.RouterGroup, adminOnlyDelete bool) {
	r.POST(res.path, res.createHandler)
	r.GET(res.path+"/:id", res.getHandler)
	r.PATCH(res.path+"/:id", res.updateHandler)
	r.PUT(res.path+"/:id", res.updateHandler)
	if adminOnlyDelete {
		r.DELETE(res.path+"/:id", res.a.RequireAdmin, res.deleteHandler)
	} else {
		r.DELETE(res.path+"/:id", res.deleteHandler)
	}
}

func (res resource[S]) send(c *gin.Context, status int, st S, err error) {
	if err != nil {
		res.a.Fail(c, err)
		return
	}
	edge.Respond(c, status, res.version(st), st)
}

func (res resource[S]) createHandler(c *gin.Context) {
	fields, ok := res.a.DecodeObject(c)
	if !ok {
		return
	}
	var id string
	for _, k := range []string{"uuid", "id"} {
		if v, given := fields[k]; given {
			delete(fields, k)
			if id, _ = v.(string); id == "" {
				id = "-"
			}
		}
	}
	p := edge.Principal(c)
	st, err := res.create(c.Request.Context(), p.AccountID, p.Actor(), id, fields)
	if err == nil {
		c.Header("Location", "/api/v1"+res.path+"/"+res.id(st))
	}
	res.send(c, http.StatusCreated, st, err)
}

func (res resource[S]) getHandler(c *gin.Context) {
	id, ok := res.a.PathID(c, "id")
	if !ok {
		return
	}
	st, err := res.get(c.Request.Context(), edge.Principal(c).AccountID, id)
	res.send(c, http.StatusOK, st, err)
}

func (res resource[S]) updateHandler(c *gin.Context) {
	id, ok := res.a.PathID(c, "id")
	if !ok {
		return
	}
	expected, ok := res.a.IfMatch(c)
	if !ok {
		return
	}
	fields, ok := res.a.DecodeObject(c)
	if !ok {
		return
	}
	st, err := res.update(c.Request.Context(), edge.Principal(c).AccountID, id, expected, fields)
	res.send(c, http.StatusOK, st, err)
}

func (res resource[S]) deleteHandler(c *gin.Context) {
	id, ok := res.a.PathID(c, "id")
	if !ok {
		return
	}
	expected, ok := res.a.IfMatch(c)
	if !ok {
		return
	}
	st, err := res.remove(c.Request.Context(), commands.Ref{AccountID: edge.Principal(c).AccountID, ID: id, ExpectedVersion: expected})
	res.send(c, http.StatusOK, st, err)
}

func (a *Routes) companies(r *gin.RouterGroup) {
	h := a.Commands
	resource[company.State]{
		a: a, path: "/companies",
		version: func(s company.State) int64 { return s.Version }, id: func(s company.State) string { return s.ID },
		create: func(ctx context.Context, acc, actor, id string, f map[string]any) (company.State, error) {
			return h.CreateCompany(ctx, commands.CreateCompany{AccountID: acc, ActorID: actor, ID: id, Fields: f})
		},
		get: h.Company,
		update: func(ctx context.Context, acc, id string, exp *int64, f map[string]any) (company.State, error) {
			return h.UpdateCompany(ctx, commands.UpdateCompany{AccountID: acc, ID: id, ExpectedVersion: exp, Fields: f})
		},
		remove: h.DeleteCompany,
	}.register(r, true)
}

func (a *Routes) labels(r *gin.RouterGroup) {
	h := a.Commands
	resource[label.State]{
		a: a, path: "/labels",
		version: func(s label.State) int64 { return s.Version }, id: func(s label.State) string { return s.ID },
		create: func(ctx context.Context, acc, actor, id string, f map[string]any) (label.State, error) {
			return h.CreateLabel(ctx, commands.CreateLabel{AccountID: acc, ActorID: actor, ID: id, Fields: f})
		},
		get: h.Label,
		update: func(ctx context.Context, acc, id string, exp *int64, f map[string]any) (label.State, error) {
			return h.UpdateLabel(ctx, commands.UpdateLabel{AccountID: acc, ID: id, ExpectedVersion: exp, Fields: f})
		},
		remove: h.DeleteLabel,
	}.register(r, true)
}

func (a *Routes) groups(r *gin.RouterGroup) {
	h := a.Commands
	resource[group.State]{
		a: a, path: "/groups",
		version: func(s group.State) int64 { return s.Version }, id: func(s group.State) string { return s.ID },
		create: func(ctx context.Context, acc, actor, id string, f map[string]any) (group.State, error) {
			return h.CreateGroup(ctx, commands.CreateGroup{AccountID: acc, ActorID: actor, ID: id, Fields: f})
		},
		get: h.Group,
		update: func(ctx context.Context, acc, id string, exp *int64, f map[string]any) (group.State, error) {
			return h.UpdateGroup(ctx, commands.UpdateGroup{AccountID: acc, ID: id, ExpectedVersion: exp, Fields: f})
		},
		remove: h.DeleteGroup,
	}.register(r, true)
	r.POST("/groups/:id/add", a.changeMembers(h.AddGroupMembers))
	r.POST("/groups/:id/remove", a.changeMembers(h.RemoveGroupMembers))
}

type membersRequest struct {
	ContactIDs []string `json:"contact_ids" binding:"required,min=1,max=50000"`
}

func (a *Routes) changeMembers(run func(context.Context, commands.ChangeGroupMembers) (group.State, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := a.PathID(c, "id")
		if !ok {
			return
		}
		expected, ok := a.IfMatch(c)
		if !ok {
			return
		}
		var in membersRequest
		if !a.BindJSON(c, &in) {
			return
		}
		st, err := run(c.Request.Context(), commands.ChangeGroupMembers{
			Ref: commands.Ref{AccountID: edge.Principal(c).AccountID, ID: id, ExpectedVersion: expected}, ContactIDs: in.ContactIDs,
		})
		if err != nil {
			a.Fail(c, err)
			return
		}
		edge.Respond(c, http.StatusOK, st.Version, st)
	}
}
