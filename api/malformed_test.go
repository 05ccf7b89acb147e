package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/store"
)

// Every mutating operation of Strata's own OpenAPI document gets malformed
// requests: bad JSON, wrong types, huge and control-character strings,
// path traversal in names, negative and overflowing numbers, unknown
// property keys. None may panic (a reset connection), answer a 5xx outside
// LINSTOR's mapping of ApiCallRc codes to statuses, quote the input at
// length, or change the database when it answers an error. The figures
// are in docs/reliability.md.
func TestMalformedRequestsChangeNothing(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		seedObjects(c)
		doc := strataSpec(t, c.srv.URL)
		f := &fuzzer{t: t, c: c, byClass: map[string]int{}}
		paths := make([]string, 0, len(doc.Paths.Map()))
		for p := range doc.Paths.Map() {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			for method, op := range doc.Paths.Value(p).Operations() {
				if method == http.MethodGet || method == http.MethodHead {
					continue
				}
				f.operation(method, p, op)
			}
		}
		t.Logf("%s: %d operations, %d requests: %v; 5xx outside LINSTOR's mapping: %d; error answers that changed the database: %d; over-long or invalid messages: %d",
			c.store.Dialect, f.ops, f.sent, f.byClass, f.bad5xx, f.changed, f.longMessages)
		require.Zero(t, f.bad5xx)
		require.Zero(t, f.changed)
		require.Zero(t, f.longMessages)
	})
}

// seedObjects makes something for the operations to find: two nodes, a
// pool, a group, a definition with a volume and a resource, a key-value
// store; and the cluster id a controller makes at its start.
func seedObjects(c *apiClient) {
	_, err := c.store.EnsureClusterID(c.t.Context())
	require.NoError(c.t, err)
	for i, n := range []string{"n1", "n2"} {
		c.ok(201, "POST", "/v1/nodes", map[string]any{"name": n, "type": "SATELLITE", "net_interfaces": []map[string]any{{"name": "default", "address": fmt.Sprintf("10.0.0.%d", i+1), "satellite_port": 3366, "satellite_encryption_type": "PLAIN"}}})
	}
	c.ok(201, "POST", "/v1/nodes/n1/storage-pools", map[string]any{"storage_pool_name": "pool1", "provider_kind": "FILE_THIN", "props": map[string]string{"StorDriver/FileDir": "/var/lib/strata-fuzz"}})
	c.ok(201, "POST", "/v1/resource-groups", map[string]any{"name": "rg1", "select_filter": map[string]any{"place_count": 1}})
	c.ok(201, "POST", "/v1/resource-definitions", map[string]any{"resource_definition": map[string]any{"name": "rd1", "resource_group_name": "rg1"}})
	c.ok(201, "POST", "/v1/resource-definitions/rd1/volume-definitions", map[string]any{"volume_definition": map[string]any{"size_kib": 10240}})
	c.ok(200, "PUT", "/v1/key-value-store/kv1", map[string]any{"override_props": map[string]string{"a": "b"}})
}

// strataSpec is the API's own OpenAPI document (3.0 form).
func strataSpec(t *testing.T, base string) *openapi3.T {
	resp, err := http.Get(base + "/openapi-3.0.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	return doc
}

type fuzzer struct {
	t                             *testing.T
	c                             *apiClient
	ops, sent                     int
	byClass                       map[string]int
	bad5xx, changed, longMessages int
	lastChanged                   bool
}

// validParams name the seeded objects, by the path parameters' names.
var validParams = map[string]string{"node": "n1", "node_a": "n1", "node_b": "n2", "resource": "rd1", "rsc": "rd1",
	"resource_group": "rg1", "storagepool": "pool1", "pool": "pool1", "volume_number": "0", "snapshot": "s1",
	"schedule": "sch1", "schedule_name": "sch1", "remote": "rem1", "remote_name": "rem1", "netinterface": "default",
	"extFileName": url.PathEscape("/etc/strata-fuzz.conf"), "clone": "cl1", "instance": "kv1"}

// hostileNames go into one path parameter at a time.
var hostileNames = []string{"..%2F..%2Fetc%2Fpasswd", "..", strings.Repeat("a", 5000), "a%00b", "a%0Ab", "%E2%80%AEevil", "-1", "99999999999999999999", "%FF%FE"}

func (f *fuzzer) operation(method, path string, op *openapi3.Operation) {
	f.ops++
	var params []string
	for _, p := range op.Parameters {
		if p.Value != nil && p.Value.In == "path" {
			params = append(params, p.Value.Name)
		}
	}
	fill := func(hostile string, at int) string {
		out := path
		for i, name := range params {
			v := cmpOr(validParams[name], "x1")
			if i == at {
				v = hostile
			}
			out = strings.ReplaceAll(out, "{"+name+"}", v)
		}
		return out
	}
	var schema *openapi3.Schema
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			schema = mt.Schema.Value
		}
	}
	base := []byte("{}")
	if schema != nil {
		base, _ = json.Marshal(example(schema, 0))
	}
	for i := range params {
		for _, h := range hostileNames {
			f.send(method, fill(h, i), base)
		}
	}
	if schema == nil {
		f.send(method, fill("", -1), []byte(`{"unexpected": [1, 2, 3]}`))
		return
	}
	valid := fill("", -1)
	for _, raw := range []string{"{", "[]", `"text"`, "null", "1e400", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "{\"a\":\"\xff\xfe\"}"} {
		f.send(method, valid, []byte(raw))
	}
	for _, body := range mutations(schema) {
		f.send(method, valid, body)
	}
}

// send makes one request and checks its answer and the database.
func (f *fuzzer) send(method, path string, body []byte) {
	f.t.Helper()
	if f.lastChanged {
		f.settle()
	}
	before := dumpDatabase(f.t, f.c.store)
	req, err := http.NewRequest(method, f.c.srv.URL+path, bytes.NewReader(body))
	require.NoError(f.t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(f.t, err, "%s %s: the connection broke (a panic?)", method, clipped(path))
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(f.t, err)
	f.sent++
	f.byClass[fmt.Sprintf("%dxx", resp.StatusCode/100)]++
	f.lastChanged = resp.StatusCode < 400
	if resp.StatusCode < 400 {
		return
	}
	var rcs apicall.RcList
	if err := json.Unmarshal(raw, &rcs); err != nil || len(rcs) == 0 {
		f.t.Errorf("%s %s answered %d without an ApiCallRc list: %.200s", method, clipped(path), resp.StatusCode, raw)
		f.bad5xx++
		return
	}
	for _, rc := range rcs {
		if len(rc.Message) > 1024 || len(rc.Cause) > 1024 || !utf8.ValidString(rc.Message) {
			f.t.Errorf("%s %s: the answer quotes too much: %.200s", method, clipped(path), rc.Message)
			f.longMessages++
		}
	}
	if resp.StatusCode >= 500 && !linstorMapping(resp.StatusCode, rcs) {
		f.t.Errorf("%s %s with %.100s answered %d outside LINSTOR's mapping: %.300s", method, clipped(path), body, resp.StatusCode, raw)
		f.bad5xx++
	}
	if after := dumpDatabase(f.t, f.c.store); after != before {
		f.t.Errorf("%s %s with %.100s answered %d and changed the database: %s", method, clipped(path), body, resp.StatusCode, difference(before, after))
		f.changed++
	}
}

// linstorMapping says whether a 5xx is how LINSTOR answers the error
// code it carries: its codes outside the not-found (3xx) and
// access-denied (4xx) ranges answer 500 — "invalid name", "in use" and
// the like, as ApiCallRcRestUtils maps them — and a node whose agent
// cannot be asked answers 503. An unknown error ("exception thrown") is
// never acceptable.
func linstorMapping(status int, rcs apicall.RcList) bool {
	code := uint64(rcs[0].RetCode) & (apicall.MaskError | apicall.MaskCode)
	switch {
	case code == apicall.FailUnknownError:
		return false
	case status == http.StatusServiceUnavailable:
		return code == apicall.FailNotConnected
	}
	return status == rcs.GetStatus()
}

// settle waits for the workflows a successful request started to finish
// changing the database, so that the next comparison is the next
// request's alone.
func (f *fuzzer) settle() {
	prev := dumpDatabase(f.t, f.c.store)
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		cur := dumpDatabase(f.t, f.c.store)
		if cur == prev {
			return
		}
		prev = cur
	}
}

// dumpDatabase is every row of every table but the error reports (a log,
// not state), sorted, as text.
func dumpDatabase(t *testing.T, st *store.Store) string {
	var out strings.Builder
	require.NoError(t, st.Tables(t.Context(), func(table string, rows []map[string]any) error {
		if table == "error_reports" {
			return nil
		}
		lines := make([]string, len(rows))
		for i, r := range rows {
			b, _ := json.Marshal(r)
			lines[i] = string(b)
		}
		sort.Strings(lines)
		fmt.Fprintf(&out, "%s\n%s\n", table, strings.Join(lines, "\n"))
		return nil
	}))
	return out.String()
}

// difference names the first lines two dumps do not share.
func difference(before, after string) string {
	was := map[string]bool{}
	for _, l := range strings.Split(before, "\n") {
		was[l] = true
	}
	var added []string
	for _, l := range strings.Split(after, "\n") {
		if !was[l] && len(added) < 3 {
			added = append(added, apicall.Clip(l))
		}
	}
	return fmt.Sprintf("new or changed rows %q", added)
}

// example is a plausible value of a schema: the starting point that
// mutations change one field at a time.
func example(s *openapi3.Schema, depth int) any {
	if s == nil || depth > 4 {
		return nil
	}
	if len(s.Enum) > 0 {
		return s.Enum[0]
	}
	switch {
	case s.Type.Is("object"):
		o := map[string]any{}
		for name, p := range s.Properties {
			if p.Value != nil && !p.Value.ReadOnly {
				o[name] = example(p.Value, depth+1)
			}
		}
		return o
	case s.Type.Is("array"):
		if s.Items == nil {
			return []any{}
		}
		return []any{example(s.Items.Value, depth+1)}
	case s.Type.Is("string"):
		return "fz1"
	case s.Type.Is("integer"), s.Type.Is("number"):
		return 1
	case s.Type.Is("boolean"):
		return false
	}
	return nil
}

// mutations are bodies with one field of the example changed for the
// worse, for every field down to the second level.
func mutations(s *openapi3.Schema) [][]byte {
	base, ok := example(s, 0).(map[string]any)
	if !ok {
		return nil
	}
	var out [][]byte
	add := func(v any) {
		b, err := json.Marshal(v)
		if err == nil {
			out = append(out, b)
		}
	}
	add(map[string]any{"no_such_field": 1})
	for name, p := range s.Properties {
		if p.Value == nil || p.Value.ReadOnly {
			continue
		}
		for _, bad := range badValues(p.Value) {
			m := clone(base)
			m[name] = bad
			add(m)
		}
		if p.Value.Type.Is("object") {
			inner, _ := base[name].(map[string]any)
			for sub, sp := range p.Value.Properties {
				if sp.Value == nil {
					continue
				}
				for _, bad := range badValues(sp.Value) {
					m := clone(base)
					in := clone(inner)
					in[sub] = bad
					m[name] = in
					add(m)
				}
			}
		}
	}
	return out
}

func badValues(s *openapi3.Schema) []any {
	huge := strings.Repeat("x", 100_000)
	switch {
	case s.Type.Is("string"):
		return []any{123, huge, "a\x00b\x01", "../../etc/passwd", "", "\u202eevil"}
	case s.Type.Is("integer"), s.Type.Is("number"):
		return []any{"1", -1, -9223372036854775808, json.Number("18446744073709551616"), json.Number("1e400"), 1.5}
	case s.Type.Is("boolean"):
		return []any{"true", 1}
	case s.Type.Is("array"):
		return []any{"x", map[string]any{}, []any{huge}, []any{nil}}
	case s.Type.Is("object"):
		if s.AdditionalProperties.Schema != nil || (s.AdditionalProperties.Has != nil && *s.AdditionalProperties.Has) {
			// a property map: unknown, over-long and control-character keys
			return []any{map[string]any{"No/Such/Key": "v"}, map[string]any{strings.Repeat("K", 600): "v"}, map[string]any{"Aux/a\x00": "v"}, map[string]any{"Aux/a": huge}, "x"}
		}
		return []any{"x", []any{1}}
	}
	return []any{huge}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func clipped(s string) string { return apicall.Clip(s) }
