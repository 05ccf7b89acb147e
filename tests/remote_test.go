package tests

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	lapi "github.com/LINBIT/golinstor/client"
	"github.com/stretchr/testify/require"

	"strata/tests/harness"
)

// S3 remotes against a real MinIO: created only with the master key
// unlocked and a bucket that answers, listed without their keys, changed,
// deleted idempotently; no answer and no log line holds a key.
func TestS3RemotesAgainstMinIO(t *testing.T) {
	ctx := context.Background()
	s3 := harness.StartMinIO(t, "backups")
	c := harness.StartController(t, harness.ControllerOptions{})
	cli, err := lapi.NewClient(lapi.BaseURL(mustURL(t, c.URL)), lapi.HTTPClient(c.HTTPClient()))
	require.NoError(t, err)
	var answers []string
	call := func(method, path string, body any, want int) []struct {
		RetCode int64  `json:"ret_code"`
		Message string `json:"message"`
		Cause   string `json:"cause"`
	} {
		t.Helper()
		var rcs []struct {
			RetCode int64  `json:"ret_code"`
			Message string `json:"message"`
			Cause   string `json:"cause"`
		}
		status, err := c.Do(ctx, method, path, body, &rcs)
		require.NoError(t, err)
		require.Equal(t, want, status, "%s %s: %+v", method, path, rcs)
		for _, rc := range rcs {
			answers = append(answers, rc.Message+" "+rc.Cause)
		}
		return rcs
	}
	remote := map[string]any{"remote_name": "s3r", "endpoint": s3.Endpoint, "bucket": "backups", "region": "us-east-1",
		"access_key": s3.AccessKey, "secret_key": s3.SecretKey, "use_path_style": true}

	rcs := call(http.MethodPost, "/v1/remotes/s3", remote, http.StatusNotFound)
	require.Equal(t, "Unable to create encrypt key without having a master key", rcs[0].Message, "no master key yet")
	call(http.MethodPost, "/v1/encryption/passphrase", map[string]string{"new_passphrase": harness.Secret("remote-test-passphrase")}, http.StatusCreated)
	rcs = call(http.MethodPost, "/v1/remotes/s3", map[string]any{"remote_name": "s3r", "endpoint": s3.Endpoint}, http.StatusInternalServerError)
	require.Equal(t, "The remote could not be created because the following required parameter(s) is/are missing: [bucket, region, access_key, secret_key]", rcs[0].Message)
	wrong := map[string]any{}
	for k, v := range remote {
		wrong[k] = v
	}
	wrong["secret_key"] = "not-the-secret-key"
	rcs = call(http.MethodPost, "/v1/remotes/s3", wrong, http.StatusInternalServerError)
	require.True(t, strings.HasPrefix(rcs[0].Message, "The remote could not be reached with the given parameters"), rcs[0].Message)
	l, err := cli.Remote.GetAllS3(ctx)
	require.NoError(t, err)
	require.Empty(t, l, "refusals stored nothing")

	rcs = call(http.MethodPost, "/v1/remotes/s3", remote, http.StatusOK)
	require.Equal(t, "Remote created", rcs[0].Message)
	call(http.MethodPost, "/v1/remotes/s3", remote, http.StatusInternalServerError)
	l, err = cli.Remote.GetAllS3(ctx)
	require.NoError(t, err)
	require.Len(t, l, 1)
	require.Equal(t, "s3r", l[0].RemoteName)
	require.Equal(t, "backups", l[0].Bucket)
	require.Empty(t, l[0].AccessKey, "no key in a list")
	require.Empty(t, l[0].SecretKey)
	call(http.MethodPost, "/v1/remotes/linstor", map[string]any{"remote_name": "other", "url": "http://10.0.0.9:3370", "cluster_id": "not-a-uuid"}, http.StatusInternalServerError)
	call(http.MethodPost, "/v1/remotes/linstor", map[string]any{"remote_name": "other", "url": "http://10.0.0.9:3370", "passphrase": harness.Secret("other-cluster-passphrase")}, http.StatusOK)
	var all map[string][]map[string]any
	_, err = c.Do(ctx, http.MethodGet, "/v1/remotes", nil, &all)
	require.NoError(t, err)
	require.Len(t, all["s3_remotes"], 1)
	require.Len(t, all["linstor_remotes"], 1)
	require.NotContains(t, all["linstor_remotes"][0], "passphrase")

	// A restart locks the master key: the remote stays, but cannot be
	// changed until the passphrase is entered.
	require.NoError(t, c.Stop())
	c.Start()
	rcs = call(http.MethodPut, "/v1/remotes/s3/s3r", map[string]any{"region": "eu-west-1"}, http.StatusNotFound)
	require.Equal(t, "Unable to create encrypt key without having a master key", rcs[0].Message)
	rcs = call(http.MethodPost, "/v1/remotes/s3r/backups", map[string]any{"rsc_name": "nothing-shipped"}, http.StatusInternalServerError)
	require.True(t, strings.HasPrefix(rcs[0].Message, "Backup shipping requires a set up encryption."), "no backup with the key locked: %s", rcs[0].Message)
	call(http.MethodPatch, "/v1/encryption/passphrase", "remote-test-passphrase", http.StatusOK)
	call(http.MethodPut, "/v1/remotes/s3/s3r", map[string]any{"bucket": "missing-bucket"}, http.StatusInternalServerError)
	call(http.MethodPut, "/v1/remotes/s3/s3r", map[string]any{"endpoint": s3.Endpoint}, http.StatusOK)

	host := strings.TrimPrefix(c.URL, "http://")
	out, errOut, code := cliRun(t, []string{"LS_CONTROLLERS=" + host}, "remote", "list")
	require.Zero(t, code, errOut)
	require.Contains(t, out, "s3r")
	answers = append(answers, out)

	call(http.MethodDelete, "/v1/remotes?remote_name=s3r", nil, http.StatusOK)
	rcs = call(http.MethodDelete, "/v1/remotes?remote_name=s3r", nil, http.StatusOK)
	require.Equal(t, "Remote: s3r not found.", rcs[0].Message, "deleting a gone remote is a warning")

	db, err := os.ReadFile(c.DataDir + "/strata.db")
	require.NoError(t, err)
	for _, secret := range []string{s3.SecretKey, "other-cluster-passphrase", "remote-test-passphrase"} {
		for _, a := range answers {
			require.NotContains(t, a, secret)
		}
		require.NotContains(t, c.Log(), secret, "the log holds no secret")
		require.NotContains(t, string(db), secret, "the database holds secrets only sealed")
	}
}
