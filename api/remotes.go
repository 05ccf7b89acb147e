package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
	"strata/remotes"
	"strata/restapi"
	"strata/store"
)

func (s *server) remotes() remotes.Remotes {
	return remotes.Remotes{Store: s.Store, Ring: s.Keyring}
}

// remoteLists are the stored remotes as LINSTOR lists them: without
// their secrets.
func (s *server) remoteLists(ctx context.Context) (restapi.RemoteList, error) {
	rows, err := s.Store.ListRemotes(ctx)
	if err != nil {
		return restapi.RemoteList{}, failure(err, 0, apicall.MaskRemote, nil)
	}
	var out restapi.RemoteList
	for _, r := range rows {
		switch r.Kind {
		case store.RemoteS3:
			out.S3Remotes = append(out.S3Remotes, restapi.S3Remote{RemoteName: r.RemoteDspName, Endpoint: r.Endpoint, Bucket: r.Bucket, Region: r.Region, UsePathStyle: r.UsePathStyle})
		case store.RemoteLinstor:
			out.LinstorRemotes = append(out.LinstorRemotes, restapi.LinstorRemote{RemoteName: r.RemoteDspName, URL: r.URL})
		}
	}
	return out, nil
}

func (s *server) registerRemotes(h huma.API) {
	const obj = apicall.MaskRemote
	huma.Register(h, developerOp("remoteList", http.MethodGet, "/v1/remotes", "list every remote"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body restapi.RemoteList }, error) {
			l, err := s.remoteLists(ctx)
			return &struct{ Body restapi.RemoteList }{l}, err
		})
	huma.Register(h, developerOp("remoteListS3", http.MethodGet, "/v1/remotes/s3", "list the S3 remotes"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []restapi.S3Remote }, error) {
			l, err := s.remoteLists(ctx)
			return &struct{ Body []restapi.S3Remote }{append([]restapi.S3Remote{}, l.S3Remotes...)}, err
		})
	huma.Register(h, developerOp("remoteListLinstor", http.MethodGet, "/v1/remotes/linstor", "list the LINSTOR remotes"),
		func(ctx context.Context, _ *struct{}) (*struct{ Body []restapi.LinstorRemote }, error) {
			l, err := s.remoteLists(ctx)
			return &struct{ Body []restapi.LinstorRemote }{append([]restapi.LinstorRemote{}, l.LinstorRemotes...)}, err
		})
	huma.Register(h, developerOp("remoteListEbs", http.MethodGet, "/v1/remotes/ebs", "list the EBS remotes (none: Strata does not ship to EBS)"),
		func(context.Context, *struct{}) (*struct{ Body []restapi.EbsRemote }, error) {
			return &struct{ Body []restapi.EbsRemote }{[]restapi.EbsRemote{}}, nil
		})
	huma.Register(h, developerOp("remoteCreateS3", http.MethodPost, "/v1/remotes/s3", "create an S3 remote"),
		func(ctx context.Context, in *struct{ Body restapi.S3Remote }) (*rcOutput, error) {
			b := in.Body
			refs := map[string]string{"Remote": b.RemoteName}
			row, err := s.remotes().CreateS3(ctx, remotes.S3{Name: b.RemoteName, Endpoint: b.Endpoint, Bucket: b.Bucket, Region: b.Region, AccessKey: b.AccessKey, SecretKey: b.SecretKey, UsePathStyle: b.UsePathStyle})
			if err != nil {
				return nil, failure(err, apicall.MaskCrt, obj, refs)
			}
			return success(apicall.Created, apicall.MaskCrt, obj, "Remote created", row.UUID, refs), nil
		})
	huma.Register(h, developerOp("remoteCreateLinstor", http.MethodPost, "/v1/remotes/linstor", "create a LINSTOR remote"),
		func(ctx context.Context, in *struct{ Body restapi.LinstorRemote }) (*rcOutput, error) {
			b := in.Body
			refs := map[string]string{"Remote": b.RemoteName}
			row, err := s.remotes().CreateLinstor(ctx, remotes.Linstor{Name: b.RemoteName, URL: b.URL, Passphrase: b.Passphrase, ClusterID: b.ClusterID})
			if err != nil {
				return nil, failure(err, apicall.MaskCrt, obj, refs)
			}
			return success(apicall.Created, apicall.MaskCrt, obj, "Remote created", row.UUID, refs), nil
		})
	huma.Register(h, developerOp("remoteCreateEbs", http.MethodPost, "/v1/remotes/ebs", "create an EBS remote (refused)"),
		func(_ context.Context, in *struct{ Body restapi.EbsRemote }) (*rcOutput, error) {
			return nil, invalid(apicall.FailInvldBackupConfig, apicall.MaskCrt, obj, "EBS remotes are not supported.", "Strata ships backups to S3 and to other LINSTOR or Strata clusters.", "Create an S3 remote.")
		})
	huma.Register(h, developerOp("remoteModifyS3", http.MethodPut, "/v1/remotes/s3/{remote}", "modify an S3 remote"),
		func(ctx context.Context, in *struct {
			Remote string `path:"remote"`
			Body   restapi.S3Remote
		}) (*rcOutput, error) {
			b := in.Body
			refs := map[string]string{"Remote": in.Remote}
			row, err := s.remotes().ModifyS3(ctx, remotes.S3{Name: in.Remote, Endpoint: b.Endpoint, Bucket: b.Bucket, Region: b.Region, AccessKey: b.AccessKey, SecretKey: b.SecretKey})
			if err != nil {
				return nil, failure(err, apicall.MaskMod, obj, refs)
			}
			return success(apicall.Modified, apicall.MaskMod, obj, "Remote modified", row.UUID, refs), nil
		})
	huma.Register(h, developerOp("remoteDelete", http.MethodDelete, "/v1/remotes", "delete a remote"),
		func(ctx context.Context, in *struct {
			RemoteName string `query:"remote_name" required:"true"`
		}) (*rcOutput, error) {
			refs := map[string]string{"Remote": in.RemoteName}
			row, err := s.Store.DeleteRemote(ctx, in.RemoteName)
			return s.deletedWithSchedules(ctx, err, obj, refs, fmt.Sprintf("Remote: %s not found.", in.RemoteName),
				fmt.Sprintf("Remote '%s' deleted.", row.RemoteDspName), row.UUID)
		})
}

// deletedWithSchedules answers a delete of a remote or schedule as
// LINSTOR does — WARN_NOT_FOUND with 200 for one that is not there — and
// has the schedules of scheduled shipping follow a delete that happened.
func (s *server) deletedWithSchedules(ctx context.Context, err error, obj uint64, refs map[string]string, notFound, deleted, uuid string) (*rcOutput, error) {
	const op = apicall.MaskDel
	if e, ok := store.AsError(err); ok && e.Problem == store.NotFound {
		rc := apicall.NewRc(apicall.WarnNotFound, op, obj, notFound)
		rc.ObjRefs = refs
		return &rcOutput{apicall.RcList{rc}}, nil
	}
	if err == nil {
		err = s.schedulesChanged(ctx)
	}
	if err != nil {
		return nil, failure(err, op, obj, refs)
	}
	return success(apicall.Deleted, op, obj, deleted, uuid, refs), nil
}
