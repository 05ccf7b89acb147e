package api

import (
	"errors"
	"net/http"
	"strings"

	"strata/apicall"
	"strata/ldapauth"
)

// openPaths answer without credentials even when sign-in is required: the
// health check and, as LINSTOR's guide allows, "displaying version or help
// information".
var openPaths = map[string]bool{"/health": true, "/v1/controller/version": true, "/docs": true,
	"/openapi.json": true, "/openapi.yaml": true, "/openapi-3.0.json": true, "/openapi-3.0.yaml": true}

// realm is sent with every 401, so that a client knows to ask for a user
// and password.
const realm = `Basic realm="linstor-controller"`

// signInRules requires LINSTOR's LDAP sign-in ([ldap] enabled): HTTP Basic
// credentials the directory accepts. Without credentials a request may
// only read, and only when allow_public_access says so; a write always
// needs them. Passwords are never logged; the request log names the
// user, also of a refused attempt.
func signInRules(dir *ldapauth.Directory) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if openPaths[r.URL.Path] {
				next.ServeHTTP(w, r)
				return
			}
			header := r.Header.Get("Authorization")
			if header == "" {
				if dir.Config().AllowPublicAccess && isRead(r.Method) {
					next.ServeHTTP(w, r)
					return
				}
				rc := apicall.NewRc(apicall.FailSignInMissing, 0, 0, "Login required but no 'Authorization' header given.")
				rc.Correction = "Give an LDAP user and password (linstor --user, strata --user)."
				refuse(w, http.StatusUnauthorized, rc)
				return
			}
			scheme, _, _ := strings.Cut(header, " ")
			if !strings.EqualFold(scheme, "Basic") {
				refuse(w, http.StatusUnauthorized, apicall.NewRc(apicall.FailInvldEncryptType, 0, 0, "Invalid Authorization method, only 'Basic' supported."))
				return
			}
			user, password, ok := r.BasicAuth()
			if !ok {
				refuse(w, http.StatusUnauthorized, apicall.NewRc(apicall.FailInvldEncryptType, 0, 0, "Basic authentication doesn't contain credential token."))
				return
			}
			// Refused attempts name the user too: the log shows who tried.
			noteUser(r.Context(), user)
			switch err := dir.SignIn(user, password); {
			case err == nil:
				next.ServeHTTP(w, r)
			case errors.Is(err, ldapauth.ErrInvalidCredentials):
				rc := apicall.NewRc(apicall.FailSignIn, 0, 0, "Sign-in failed: Invalid sign in credentials")
				rc.Cause = "The credentials for the sign-in are not valid."
				rc.Correction = "The name of a valid identity and a matching password must be provided to sign in to the system."
				refuse(w, http.StatusUnauthorized, rc)
			case errors.Is(err, ldapauth.ErrNoMatch):
				rc := apicall.NewRc(apicall.FailSignIn, 0, 0, "Sign-in failed: LDAP search filter didn't find a match.")
				rc.Cause = "Search filter expression didn't match any item."
				rc.Correction = "Adapt LDAP search_base,search_filter or add user to searched group."
				writeRcList(w, http.StatusForbidden, rc)
			default:
				rc := apicall.NewRc(apicall.FailSignIn, 0, 0, "Sign-in failed: the LDAP server could not be asked.")
				rc.Cause = err.Error()
				rc.Correction = "Check the LDAP server and the [ldap] uri of the controller's configuration."
				writeRcList(w, http.StatusServiceUnavailable, rc)
			}
		})
	}
}

func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

func refuse(w http.ResponseWriter, status int, rc apicall.ApiCallRc) {
	w.Header().Set("WWW-Authenticate", realm)
	writeRcList(w, status, rc)
}
