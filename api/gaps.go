package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"

	"github.com/go-chi/chi/v5"

	"strata/apicall"
)

// golinstor reads every 404 as "this object does not exist", so a path
// Strata does not serve must never look like one: LINSTOR's operations
// Strata lacks answer 501, and unknown paths and methods answer LINSTOR's
// error list rather than the router's plain text.

var pathParameter = regexp.MustCompile(`\{[^}]*\}`)

// serveGaps routes every operation of linstorOperations that r does not
// serve to a 501, and gives r JSON answers for unknown paths and methods.
func serveGaps(r *chi.Mux) {
	for _, op := range linstorOperations {
		method, path := op[0], op[1]
		if !r.Match(chi.NewRouteContext(), method, pathParameter.ReplaceAllString(path, "x")) {
			r.Method(method, path, http.HandlerFunc(notImplemented))
		}
	}
	r.NotFound(func(w http.ResponseWriter, req *http.Request) {
		writeRcList(w, http.StatusNotFound, apicall.NewRc(apicall.FailUnknownError, 0, 0,
			fmt.Sprintf("No such path: %s %s", req.Method, req.URL.Path)))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		writeRcList(w, http.StatusMethodNotAllowed, apicall.NewRc(apicall.FailUnknownError, 0, 0,
			fmt.Sprintf("Method %s is not allowed on %s", req.Method, req.URL.Path)))
	})
}

func notImplemented(w http.ResponseWriter, req *http.Request) {
	rc := apicall.NewRc(apicall.FailUnknownError, 0, 0,
		fmt.Sprintf("%s %s is part of LINSTOR's REST API but not implemented by Strata.", req.Method, req.URL.Path))
	rc.Cause = "Strata does not serve this operation yet."
	writeRcList(w, http.StatusNotImplemented, rc)
}

// writeRcList answers an error list on handlers outside huma.
func writeRcList(w http.ResponseWriter, status int, rcs ...apicall.ApiCallRc) {
	writeJSON(w, status, apicall.RcList(rcs))
}

// writeJSON answers body on handlers outside huma.
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
