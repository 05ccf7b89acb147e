package api

import (
	"html/template"
	"net/http"
	"sort"

	"github.com/danielgtaylor/huma/v2"
)

// docsPage lists every operation of the API. It is rendered on the server
// from the OpenAPI description so that it works on hosts without internet
// access, where script-based viewers cannot load their assets.
var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} API</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
code{background:#f3f3f3;padding:0 .2em}.m{display:inline-block;width:4.5em;font-weight:bold}
li{margin:.4em 0}</style></head><body>
<h1>{{.Title}} API {{.Version}}</h1>
<p>{{.Description}}</p>
<p>Machine-readable description: <a href="/openapi.json">/openapi.json</a>, <a href="/openapi.yaml">/openapi.yaml</a>.</p>
<ul>{{range .Ops}}<li><span class="m">{{.Method}}</span> <code>{{.Path}}</code> — {{.Summary}}{{if .Description}}<br><small>{{.Description}}</small>{{end}}</li>
{{end}}</ul></body></html>`))

type docsOp struct{ Method, Path, Summary, Description string }

func docsHandler(spec *huma.OpenAPI) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		var ops []docsOp
		for path, item := range spec.Paths {
			for method, op := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete} {
				if op != nil {
					ops = append(ops, docsOp{method, path, op.Summary, op.Description})
				}
			}
		}
		sort.Slice(ops, func(i, j int) bool {
			if ops[i].Path != ops[j].Path {
				return ops[i].Path < ops[j].Path
			}
			return ops[i].Method < ops[j].Method
		})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = docsPage.Execute(w, struct {
			Title, Version, Description string
			Ops                         []docsOp
		}{spec.Info.Title, spec.Info.Version, spec.Info.Description, ops})
	}
}
