package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/store"
	"strata/tests/harness"
)

// linstorSpec is LINSTOR's published OpenAPI description (testdata/README.md
// says which); the responses of every test request are validated against it,
// so that Strata's JSON cannot drift from LINSTOR's.
const linstorSpec = "testdata/linstor-rest-v1-openapi.yaml"

var (
	specOnce sync.Once
	specDoc  *openapi3.T
	specErr  error
)

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	specOnce.Do(func() {
		specDoc, specErr = openapi3.NewLoader().LoadFromFile(linstorSpec)
		if specErr == nil {
			specErr = specDoc.Validate(context.Background(), openapi3.DisableExamplesValidation())
			patchSpec(specDoc)
		}
	})
	require.NoError(t, specErr, "LINSTOR's OpenAPI description %s", linstorSpec)
	return specDoc
}

// patchSpec corrects the places where LINSTOR's description and its
// server disagree; clients follow the server:
//   - node types are answered upper-case (SATELLITE), the description
//     lists them capitalised;
//   - one resource connection is answered as an object, not a list;
//   - a failed operation answers a list of apicall.ApiCallRc like every other
//     error, the description's OperationFailed shows a single entry;
//   - a volume layer's data is one of seven schemas with no required
//     fields, so any object matches several and no answer can satisfy the
//     description's oneOf: it is checked as anyOf;
//   - the passphrase status and the list of all remotes are one object
//     each (the server answers JsonGenTypes.PassphraseStatus and
//     RemoteList, and golinstor decodes an object), the description says
//     arrays.
func patchSpec(doc *openapi3.T) {
	for path, schema := range map[string]string{"/v1/encryption/passphrase": "PassphraseStatus", "/v1/remotes": "RemoteList"} {
		doc.Paths.Find(path).Get.Responses.Value("200").Value.Content["application/json"].Schema = doc.Components.Schemas[schema]
	}
	doc.Paths.Find("/v1/resource-definitions/{resource}/resource-connections/{node_a}/{node_b}").Get.Responses.Value("200").Value.Content["application/json"].Schema =
		doc.Components.Schemas["ResourceConnection"]
	data := doc.Components.Schemas["VolumeLayer"].Value.Properties["data"].Value
	data.AnyOf, data.OneOf = data.OneOf, nil
	typ := doc.Components.Schemas["Node"].Value.Properties["type"].Value
	for i, e := range typ.Enum {
		typ.Enum[i] = strings.ToUpper(e.(string))
	}
	failed := doc.Components.Responses["OperationFailed"].Value.Content["application/json"]
	failed.Schema = doc.Components.Schemas["ApiCallRcList"]
}

// apiClient sends requests to an in-process API and validates every
// answer against LINSTOR's description.
type apiClient struct {
	t      *testing.T
	srv    *httptest.Server
	router routers.Router
	store  *store.Store
}

// eachDialect runs test against an API on a fresh SQLite database and on
// a fresh PostgreSQL database.
func eachDialect(t *testing.T, test func(t *testing.T, c *apiClient)) {
	for _, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			cfg := store.Config{SQLitePath: filepath.Join(t.TempDir(), "strata.db")}
			if dialect == store.DialectPostgres {
				cfg = store.Config{ConnectionURL: harness.PostgresDatabase(t)}
			}
			test(t, newClient(t, cfg))
		})
	}
}

func newClient(t *testing.T, cfg store.Config) *apiClient {
	return newClientWith(t, cfg, func(st *store.Store) Deps { return operationsDeps(t, st) })
}

// newClientWith is newClient with the API's dependencies made by deps.
func newClientWith(t *testing.T, cfg store.Config, deps func(*store.Store) Deps) *apiClient {
	st, err := store.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(New(deps(st)))
	t.Cleanup(srv.Close)
	doc := *loadSpec(t)
	doc.Servers = openapi3.Servers{{URL: srv.URL}}
	router, err := gorillamux.NewRouter(&doc)
	require.NoError(t, err)
	return &apiClient{t: t, srv: srv, router: router, store: st}
}

// do sends a request and returns the status and body; a body that does not
// match LINSTOR's schema for that operation and status fails the test.
func (c *apiClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			require.NoError(c.t, err)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, c.srv.URL+path, rd)
	require.NoError(c.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	c.validate(req, resp, out)
	return resp.StatusCode, out
}

func (c *apiClient) validate(req *http.Request, resp *http.Response, body []byte) {
	c.t.Helper()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return // a server-only route LINSTOR's description lacks
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{MultiError: true},
	})
	require.NoError(c.t, err, "%s %s answered %d %s: not LINSTOR's shape", req.Method, req.URL.Path, resp.StatusCode, body)
}

// get decodes a 200 answer into out.
func (c *apiClient) get(path string, out any) {
	c.t.Helper()
	status, body := c.do(http.MethodGet, path, nil)
	require.Equal(c.t, http.StatusOK, status, "GET %s: %s", path, body)
	v := reflect.ValueOf(out).Elem()
	v.Set(reflect.Zero(v.Type())) // decoding into a used map would merge
	require.NoError(c.t, json.Unmarshal(body, out))
}

// ok sends a write and requires the given success status and no error
// entry in the answer.
func (c *apiClient) ok(status int, method, path string, body any) apicall.RcList {
	c.t.Helper()
	got, out := c.do(method, path, body)
	require.Equal(c.t, status, got, "%s %s: %s", method, path, out)
	var rcs apicall.RcList
	require.NoError(c.t, json.Unmarshal(out, &rcs))
	for _, rc := range rcs {
		require.False(c.t, rc.IsError(), "%s %s: %s", method, path, out)
	}
	return rcs
}

// fail sends a write that must be refused with status and LINSTOR's code
// (error bits and code bits, as golinstor's apicall.ApiCallRc.Is compares them).
func (c *apiClient) fail(status int, code uint64, method, path string, body any) apicall.ApiCallRc {
	c.t.Helper()
	got, out := c.do(method, path, body)
	require.Equal(c.t, status, got, "%s %s: %s", method, path, out)
	var rcs apicall.RcList
	require.NoError(c.t, json.Unmarshal(out, &rcs), "%s", out)
	require.NotEmpty(c.t, rcs)
	require.Equal(c.t, code|apicall.MaskError, uint64(rcs[0].RetCode)&(apicall.MaskError|apicall.MaskCode), "%s %s: %s", method, path, out)
	return rcs[0]
}
