package rest

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPI is the OpenAPI 3.1 document of every route of the service (health
// checks, write routes, read routes, the WebSocket upgrade, and the
// account-scoped copies under /api/v1/accounts/{account_id}, which
// gen_openapi_accounts.py derives from the /api/v1 ones). A test checks it
// against the router's routes both ways.
//
//go:generate python3 gen_openapi_accounts.py
//go:embed openapi.json
var openAPI []byte

// OpenAPIDocument returns the OpenAPI document (JSON).
func OpenAPIDocument() []byte { return openAPI }

// OpenAPIHandler serves GET /api/v1/openapi.json (no authentication).
func OpenAPIHandler(c *gin.Context) {
	c.Data(http.StatusOK, "application/json; charset=utf-8", openAPI)
}
