package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"strata/agentlink"
	"strata/apicall"
)

// maxRequestBytes bounds every request body, also of the handlers outside
// huma; huma's operations have their own, smaller limit (1 MiB unless an
// operation says more).
const maxRequestBytes = 4 << 20

// statusRcList is an ApiCallRc list answered with an HTTP status of its
// own rather than the one its first error's code maps to.
type statusRcList struct {
	apicall.RcList
	status int
}

func withStatus(status int, l apicall.RcList) statusRcList { return statusRcList{l, status} }

func (l statusRcList) GetStatus() int               { return l.status }
func (l statusRcList) MarshalJSON() ([]byte, error) { return json.Marshal(l.RcList) }

// askAgent asks a node's agent something, within ten seconds; a node its
// agent cannot be asked for answers 503, as LINSTOR's satellite-dependent
// requests do.
func (s *server) askAgent(ctx context.Context, node string, op, obj uint64, failure string, ask func(ctx context.Context, agents *agentlink.Link) error) error {
	if _, err := s.Store.GetNode(ctx, node); err != nil {
		return notFoundOnly(err)
	}
	err := errors.New("no agent link")
	if s.Agents != nil {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err = ask(qctx, s.Agents)
	}
	if err != nil {
		return withStatus(http.StatusServiceUnavailable, apicall.Failure(apicall.FailNotConnected, op, obj, failure, err.Error(), "Check the node with node list."))
	}
	return nil
}

// tooLarge answers a body over the limit: 413 with an ApiCallRc, not a
// parse error.
func tooLarge(detail string) statusRcList {
	rc := apicall.NewRc(apicall.FailInvldRequest, 0, 0, "The request body is too large.")
	rc.Details = detail
	return withStatus(http.StatusRequestEntityTooLarge, apicall.RcList{rc})
}

// bodyRules reads request bodies only as JSON, as LINSTOR does: a body
// without a Content-Type (how LINSTOR's clients send it) is JSON; form
// and text bodies, which a browser sends to another site without asking,
// are refused, as is a request whose Origin is another site than the one
// it asks. Every body is bounded; huma's operations also give a body
// five seconds to arrive (its BodyReadTimeout), against slowloris.
func bodyRules(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r.Host) {
			rc := apicall.NewRc(apicall.FailUnknownError, 0, 0, fmt.Sprintf("Requests from origin %s are refused.", origin))
			rc.Cause = "The request comes from a web page of another site."
			writeRcList(w, http.StatusForbidden, rc)
			return
		}
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody {
			switch ct := r.Header.Get("Content-Type"); mediaType(ct) {
			case "":
				r.Header.Set("Content-Type", "application/json")
			case "application/json":
			default:
				rc := apicall.NewRc(apicall.FailUnknownError, 0, 0, fmt.Sprintf("Request bodies of type %s are not accepted.", ct))
				rc.Correction = "Send JSON, with Content-Type application/json or none."
				writeRcList(w, http.StatusUnsupportedMediaType, rc)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
		}
		next.ServeHTTP(w, r)
	})
}

// pathRules refuses a path holding NUL or bytes that are not UTF-8: no
// LINSTOR name has them, and PostgreSQL cannot even compare them, so they
// stop here, the same on both databases. Other control characters reach
// the name checks, which answer with LINSTOR's code for the kind of name.
func pathRules(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; !utf8.ValidString(p) || strings.ContainsRune(p, 0) {
			rc := apicall.NewRc(apicall.FailInvldRequest, 0, 0, fmt.Sprintf("The path '%s' holds NUL or is not UTF-8.", apicall.Clip(strings.ToValidUTF8(strings.ReplaceAll(p, "\x00", "\\0"), "?"))))
			rc.Correction = "Names are letters, digits, '_', '-' and '.'."
			writeRcList(w, http.StatusBadRequest, rc)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// mediaType is a Content-Type without its parameters, lower case;
// application/*+json counts as JSON.
func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	t, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "invalid"
	}
	if strings.HasSuffix(t, "+json") {
		return "application/json"
	}
	return t
}

// sameOrigin says whether an Origin header names the host the request
// was sent to.
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}
