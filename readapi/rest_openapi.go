package readapi

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPI is the OpenAPI 3.1 document of every /api/v1 route of the
// service (write routes, read routes and the WebSocket upgrade). A test
// checks it against the router's routes both ways.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPIDocument returns the OpenAPI document (JSON).
func OpenAPIDocument() []byte { return openAPI }

// OpenAPIHandler serves GET /api/v1/openapi.json (no authentication).
func OpenAPIHandler(c *gin.Context) {
	c.Data(http.StatusOK, "application/json; charset=utf-8", openAPI)
}
