package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
)

// The master passphrase on LINSTOR's paths: status, create (201), enter
// (PATCH with a bare JSON string), modify; LINSTOR's refusals; no answer
// ever holds a passphrase.
func TestEncryptionPassphrase(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		var answers []string
		status := func() string {
			var st PassphraseStatus
			c.get("/v1/encryption/passphrase", &st)
			return st.Status
		}
		keep := func(l apicall.RcList) {
			for _, rc := range l {
				answers = append(answers, rc.Message+rc.Cause+rc.Details+rc.Correction)
			}
		}
		require.Equal(t, "unset", status())
		rc := c.fail(http.StatusInternalServerError, apicall.FailMissingProps, http.MethodPatch, "/v1/encryption/passphrase", `"pw-one-secret"`)
		require.Equal(t, "encrypted namespace is empty, you need to set a passphrase first", rc.Message)
		keep(apicall.RcList{rc})
		keep(c.ok(http.StatusCreated, http.MethodPost, "/v1/encryption/passphrase", `{"new_passphrase": "pw-one-secret"}`))
		require.Equal(t, "unlocked", status())
		rc = c.fail(http.StatusInternalServerError, apicall.FailExistsCryptPassphrase, http.MethodPost, "/v1/encryption/passphrase", `{"new_passphrase": "pw-two-secret"}`)
		require.Equal(t, "Could not create new crypt passphrase as it already exists", rc.Message)
		keep(apicall.RcList{rc})
		rc = c.fail(http.StatusInternalServerError, apicall.FailMissingProps, http.MethodPut, "/v1/encryption/passphrase", `{"new_passphrase": "pw-two-secret", "old_passphrase": "pw-wrong-secret"}`)
		require.Equal(t, "Could not restore master passphrase as the given old passphrase was incorrect", rc.Message)
		require.Equal(t, "Wrong passphrase", rc.Cause)
		keep(apicall.RcList{rc})
		keep(c.ok(http.StatusOK, http.MethodPut, "/v1/encryption/passphrase", `{"new_passphrase": "pw-two-secret", "old_passphrase": "pw-one-secret"}`))
		rcs := c.ok(http.StatusOK, http.MethodPatch, "/v1/encryption/passphrase", `"pw-two-secret"`)
		require.Equal(t, int64(apicall.PassphraseAccepted|apicall.MaskMod|apicall.MaskCtrlConf), rcs[0].RetCode)
		require.Equal(t, "Passphrase accepted", rcs[0].Message)
		keep(rcs)
		c.fail(http.StatusInternalServerError, apicall.FailMissingProps, http.MethodPatch, "/v1/encryption/passphrase", `"pw-one-secret"`)
		c.fail(http.StatusInternalServerError, apicall.FailInvldCryptPassphrase, http.MethodPatch, "/v1/encryption/passphrase", `{"passphrase": "x"}`)

		var props map[string]string
		c.get("/v1/controller/properties", &props)
		for k, v := range props {
			answers = append(answers, k+"="+v)
		}
		for _, a := range answers {
			require.False(t, strings.Contains(a, "-secret"), "an answer holds a passphrase: %s", a)
		}
	})
}
