package cli

import (
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"strata/restapi"
)

func (a *app) remoteCommand() *cobra.Command {
	c := &cobra.Command{Use: "remote", Short: "remote commands: S3 buckets and LINSTOR clusters that backups go to"}
	create := &cobra.Command{Use: "create", Aliases: aliasCreate, Short: "create a remote"}
	var pathStyle bool
	s3 := verb("s3 NAME ENDPOINT BUCKET REGION ACCESS_KEY SECRET_KEY", "create an S3 remote (the bucket must answer a list)", nil, cobra.ExactArgs(6), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPost, "/v1/remotes/s3", restapi.S3Remote{RemoteName: args[0], Endpoint: args[1], Bucket: args[2], Region: args[3],
			AccessKey: args[4], SecretKey: args[5], UsePathStyle: pathStyle})
	})
	s3.Flags().BoolVar(&pathStyle, "use-path-style", false, "address the bucket in the path, not the host name (MinIO, most on-premises S3)")
	var passphrase, clusterID string
	linstor := verb("linstor NAME URL", "create a remote LINSTOR or Strata cluster", nil, cobra.ExactArgs(2), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPost, "/v1/remotes/linstor", restapi.LinstorRemote{RemoteName: args[0], URL: args[1], Passphrase: passphrase, ClusterID: clusterID})
	})
	linstor.Flags().StringVar(&passphrase, "passphrase", "", "the remote cluster's master passphrase (for encrypted volumes)")
	linstor.Flags().StringVar(&clusterID, "cluster-id", "", "the remote cluster's id")
	create.AddCommand(s3, linstor)

	list := verb("list", "list remotes", aliasList, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var l restapi.RemoteList
		raw, err := a.get(cmd.Context(), "/v1/remotes", nil, &l)
		if err != nil {
			return err
		}
		var rows [][]string
		for _, r := range l.S3Remotes {
			rows = append(rows, []string{r.RemoteName, "S3", r.Endpoint + "/" + r.Bucket + " (" + r.Region + ")"})
		}
		for _, r := range l.LinstorRemotes {
			rows = append(rows, []string{r.RemoteName, "LINSTOR", r.URL})
		}
		return a.list(raw, []string{"Name", "Type", "Info"}, rows)
	})

	modify := &cobra.Command{Use: "modify", Aliases: aliasModify, Short: "modify a remote"}
	var m restapi.S3Remote
	s3mod := verb("s3 NAME", "change an S3 remote's endpoint, bucket, region or keys", nil, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodPut, "/v1/remotes/s3/"+url.PathEscape(args[0]), m)
	})
	for _, f := range []struct {
		name  string
		value *string
	}{{"endpoint", &m.Endpoint}, {"bucket", &m.Bucket}, {"region", &m.Region}, {"access-key", &m.AccessKey}, {"secret-key", &m.SecretKey}} {
		s3mod.Flags().StringVar(f.value, f.name, "", "the new "+f.name)
	}
	modify.AddCommand(s3mod)

	del := verb("delete NAME", "delete a remote", aliasDelete, cobra.ExactArgs(1), func(cmd *cobra.Command, args []string) error {
		return a.write(cmd.Context(), http.MethodDelete, "/v1/remotes?remote_name="+url.QueryEscape(args[0]), nil)
	})
	c.AddCommand(create, list, modify, del)
	return c
}
