package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"strata/apicall"
	"strata/restapi"
)

// Remote answers match LINSTOR's description; what can be refused
// without an S3 server is refused as LINSTOR refuses it, and changes
// nothing (tests/remote_test.go runs the rest against MinIO).
func TestRemoteAnswers(t *testing.T) {
	eachDialect(t, func(t *testing.T, c *apiClient) {
		var all restapi.RemoteList
		c.get("/v1/remotes", &all)
		require.Empty(t, all.S3Remotes)
		body := `{"remote_name": "s3r", "endpoint": "http://127.0.0.1:1", "bucket": "b", "region": "us-east-1", "access_key": "AK", "secret_key": "SK-secret"}`
		rc := c.fail(http.StatusNotFound, apicall.FailNotFoundCryptKey, http.MethodPost, "/v1/remotes/s3", body)
		require.Equal(t, "The masterkey was not initialized yet", rc.Cause)
		c.ok(http.StatusCreated, http.MethodPost, "/v1/encryption/passphrase", `{"new_passphrase": "pw"}`)
		rc = c.fail(http.StatusInternalServerError, apicall.FailInvldBackupConfig, http.MethodPost, "/v1/remotes/s3", body)
		require.Contains(t, rc.Message, "could not be reached", "nothing listens on port 1")
		c.fail(http.StatusInternalServerError, apicall.FailInvldBackupConfig, http.MethodPost, "/v1/remotes/ebs", `{"remote_name": "e"}`)
		c.fail(http.StatusInternalServerError, apicall.FailInvldRemoteName, http.MethodPost, "/v1/remotes/linstor", `{"remote_name": "-bad", "url": "http://x"}`)
		c.ok(http.StatusOK, http.MethodPost, "/v1/remotes/linstor", `{"remote_name": "other", "url": "https://10.0.0.9:3371", "cluster_id": "6f4b6d4e-1c2a-4b8e-9d0f-2a1b3c4d5e6f"}`)
		var linstors []restapi.LinstorRemote
		c.get("/v1/remotes/linstor", &linstors)
		require.Equal(t, []restapi.LinstorRemote{{RemoteName: "other", URL: "https://10.0.0.9:3371"}}, linstors)
		var s3s, ebs []restapi.S3Remote
		c.get("/v1/remotes/s3", &s3s)
		require.Empty(t, s3s, "the refused S3 remote was not stored")
		c.get("/v1/remotes/ebs", &ebs)
		require.Empty(t, ebs)
		rcs := c.ok(http.StatusOK, http.MethodDelete, "/v1/remotes?remote_name=nope", nil)
		require.Equal(t, "Remote: nope not found.", rcs[0].Message)
		c.ok(http.StatusOK, http.MethodDelete, "/v1/remotes?remote_name=other", nil)
	})
}
