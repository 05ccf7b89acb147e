// Package remotes is LINSTOR's remotes (user guide 2.11.5): S3 buckets
// and other LINSTOR (or Strata) clusters that backups are shipped to.
// Their secrets are stored only sealed with the master key, so a remote
// can be created or used only while the master key is unlocked, and no
// answer ever holds them.
package remotes

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"

	"strata/agent/proto/bucket"
	"strata/apicall"
	"strata/backups"
	"strata/masterkey"
	"strata/store"
)

// S3 is an S3 remote as the user gives it.
type S3 struct {
	Name, Endpoint, Bucket, Region, AccessKey, SecretKey string
	UsePathStyle                                         bool
}

// Linstor is a remote LINSTOR or Strata cluster.
type Linstor struct {
	Name, URL, Passphrase, ClusterID string
}

// Remotes runs remote requests against the store and this process's
// master key; Probe checks that an S3 bucket answers before the remote
// is stored (ProbeS3 unless set).
type Remotes struct {
	Store *store.Store
	Ring  *masterkey.Keyring
	Probe func(ctx context.Context, s S3) error
}

var errNoMasterKey = &apicall.Refused{Code: apicall.FailNotFoundCryptKey, Message: "Unable to create encrypt key without having a master key",
	Cause: "The masterkey was not initialized yet", Correction: "Create or enter the master passphrase"}

// nameRule is the remote name check (LINSTOR checks them as node names).
var nameRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{1,254}$`)

func checkName(name string) error {
	if !nameRule.MatchString(name) {
		return &apicall.Refused{Code: apicall.FailInvldRemoteName, Message: fmt.Sprintf("Invalid remote name '%s'", apicall.Clip(name)),
			Cause: "A remote name is 2 to 255 letters, digits, dots and dashes, starting with a letter or digit.", Correction: "Choose another name."}
	}
	return nil
}

// seal seals a remote's secret for its place: remote, field.
func (r Remotes) seal(key []byte, remote, field, secret string) (string, error) {
	if secret == "" {
		return "", nil
	}
	return masterkey.Seal(key, []byte(secret), "remote/"+store.Key(remote)+"/"+field)
}

func (r Remotes) key() ([]byte, error) {
	key, ok := r.Ring.Key()
	if !ok {
		return nil, errNoMasterKey
	}
	return key, nil
}

// CreateS3 checks the remote's parameters, the master key and that the
// bucket answers a list, then stores it with its keys sealed.
func (r Remotes) CreateS3(ctx context.Context, s S3) (store.RemoteRow, error) {
	var missing []string
	for _, f := range []struct{ name, value string }{{"remote_name", s.Name}, {"endpoint", s.Endpoint}, {"bucket", s.Bucket}, {"region", s.Region},
		{"access_key", s.AccessKey}, {"secret_key", s.SecretKey}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return store.RemoteRow{}, &apicall.Refused{Code: apicall.FailInvldBackupConfig,
			Message: fmt.Sprintf("The remote could not be created because the following required parameter(s) is/are missing: [%s]", strings.Join(missing, ", "))}
	}
	if err := checkName(s.Name); err != nil {
		return store.RemoteRow{}, err
	}
	key, err := r.key()
	if err != nil {
		return store.RemoteRow{}, err
	}
	if err := r.Store.RemoteNameFree(ctx, s.Name); err != nil {
		return store.RemoteRow{}, err
	}
	if err := r.probe(ctx, s); err != nil {
		return store.RemoteRow{}, err
	}
	row := store.RemoteRow{RemoteName: s.Name, Kind: store.RemoteS3, Endpoint: s.Endpoint, Bucket: s.Bucket, Region: s.Region, UsePathStyle: s.UsePathStyle}
	if row.AccessKeySealed, err = r.seal(key, s.Name, "access_key", s.AccessKey); err != nil {
		return store.RemoteRow{}, err
	}
	if row.SecretKeySealed, err = r.seal(key, s.Name, "secret_key", s.SecretKey); err != nil {
		return store.RemoteRow{}, err
	}
	return r.Store.CreateRemote(ctx, row)
}

func (r Remotes) probe(ctx context.Context, s S3) error {
	probe := r.Probe
	if probe == nil {
		probe = ProbeS3
	}
	if err := probe(ctx, s); err != nil {
		return &apicall.Refused{Code: apicall.FailInvldBackupConfig,
			Message:    "The remote could not be reached with the given parameters and therefore wasn't created. Please check for spelling errors and that you have the correct access-key and secret-key.",
			Cause:      err.Error(),
			Correction: "Check the endpoint, bucket, region, keys and --use-path-style."}
	}
	return nil
}

// Client is a minio-go client of an S3 remote.
func Client(s S3) (*minio.Client, error) {
	return bucket.Client(s.Endpoint, s.Region, s.AccessKey, s.SecretKey, s.UsePathStyle)
}

// ProbeS3 lists one object of the bucket, as LINSTOR does before it
// stores a remote.
func ProbeS3(ctx context.Context, s S3) error {
	c, err := Client(s)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx) // one answer is enough: stop the listing after it
	defer cancel()
	if obj, ok := <-c.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{MaxKeys: 1}); ok && obj.Err != nil {
		return obj.Err
	}
	return nil
}

// ModifyS3 changes the given (non-empty) fields of an S3 remote; the new
// parameters must reach the bucket. use_path_style is not changed, as
// LINSTOR does not.
func (r Remotes) ModifyS3(ctx context.Context, s S3) (store.RemoteRow, error) {
	key, err := r.key()
	if err != nil {
		return store.RemoteRow{}, err
	}
	cur, err := r.Store.GetRemote(ctx, s.Name)
	if err != nil {
		return store.RemoteRow{}, err
	}
	if err := isS3(cur); err != nil {
		return store.RemoteRow{}, err
	}
	full, err := r.S3Of(cur)
	if err != nil {
		return store.RemoteRow{}, err
	}
	for _, f := range []struct {
		dst *string
		v   string
	}{{&full.Endpoint, s.Endpoint}, {&full.Bucket, s.Bucket}, {&full.Region, s.Region}, {&full.AccessKey, s.AccessKey}, {&full.SecretKey, s.SecretKey}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if err := r.probe(ctx, full); err != nil {
		return store.RemoteRow{}, err
	}
	return r.Store.ModifyRemote(ctx, s.Name, func(row *store.RemoteRow) error {
		if err := isS3(*row); err != nil { // replaced meanwhile
			return err
		}
		row.Endpoint, row.Bucket, row.Region = full.Endpoint, full.Bucket, full.Region
		var err error
		if row.AccessKeySealed, err = r.seal(key, s.Name, "access_key", full.AccessKey); err != nil {
			return err
		}
		row.SecretKeySealed, err = r.seal(key, s.Name, "secret_key", full.SecretKey)
		return err
	})
}

// isS3 refuses a remote that is not an S3 one.
func isS3(row store.RemoteRow) error {
	if row.Kind != store.RemoteS3 {
		return &apicall.Refused{Code: apicall.FailInvldRemoteName, Message: fmt.Sprintf("Remote '%s' is not an S3 remote.", row.RemoteDspName)}
	}
	return nil
}

// OpenS3 is a stored S3 remote with its keys opened, for the agent that
// ships a backup, or LINSTOR's refusal: no such remote, not an S3
// remote, or no master key to open its keys with.
func (r Remotes) OpenS3(ctx context.Context, name string) (S3, error) {
	row, err := r.Store.GetRemote(ctx, name)
	if _, ok := store.AsError(err); ok {
		return S3{}, &apicall.Refused{Code: apicall.FailNotFoundRemote, Message: fmt.Sprintf("The remote %s does not exist. Please provide a valid remote or create a new one.", apicall.Clip(name))}
	}
	if err != nil {
		return S3{}, err
	}
	if row.Kind != store.RemoteS3 {
		return S3{}, &apicall.Refused{Code: apicall.FailInvldRemoteName, Message: fmt.Sprintf("The remote %s is not an s3 remote.", row.RemoteDspName)}
	}
	s, err := r.S3Of(row)
	if err != nil {
		return S3{}, &apicall.Refused{Code: apicall.FailInvldCryptPassphrase, Message: "Backup shipping requires a set up encryption. Please use 'linstor encryption create-passphrase' or 'linstor encryption enter-passphrase'",
			Cause: err.Error(), Correction: "Create or enter the master passphrase."}
	}
	return s, nil
}

// OpenBucket is an S3 remote's bucket, opened with its keys, and the
// remote; the refusals are OpenS3's.
func (r Remotes) OpenBucket(ctx context.Context, name string) (backups.Bucket, S3, error) {
	s, err := r.OpenS3(ctx, name)
	if err != nil {
		return backups.Bucket{}, S3{}, err
	}
	c, err := Client(s)
	return backups.Bucket{Client: c, Name: s.Bucket}, s, err
}

// S3Of is a stored S3 remote with its keys opened: for the agent that
// ships a backup, never for an answer.
func (r Remotes) S3Of(row store.RemoteRow) (S3, error) {
	key, err := r.key()
	if err != nil {
		return S3{}, err
	}
	s := S3{Name: row.RemoteDspName, Endpoint: row.Endpoint, Bucket: row.Bucket, Region: row.Region, UsePathStyle: row.UsePathStyle}
	for _, f := range []struct {
		dst          *string
		sealed, name string
	}{{&s.AccessKey, row.AccessKeySealed, "access_key"}, {&s.SecretKey, row.SecretKeySealed, "secret_key"}} {
		b, err := masterkey.Open(key, f.sealed, "remote/"+row.RemoteName+"/"+f.name)
		if err != nil {
			return S3{}, err
		}
		*f.dst = string(b)
	}
	return s, nil
}

var urlRule = regexp.MustCompile(`^(https?://)?([^:/]+)(:[0-9]+)?/?$`)

// CreateLinstor stores a remote cluster: its URL, its cluster id (a
// UUID, when given) and its master passphrase (sealed; needed only for
// encrypted volumes).
func (r Remotes) CreateLinstor(ctx context.Context, l Linstor) (store.RemoteRow, error) {
	if l.Name == "" || l.URL == "" {
		return store.RemoteRow{}, &apicall.Refused{Code: apicall.FailInvldBackupConfig, Message: "The remote could not be created because the following required parameter(s) is/are missing: [remote_name, url]"}
	}
	if err := checkName(l.Name); err != nil {
		return store.RemoteRow{}, err
	}
	if !urlRule.MatchString(l.URL) {
		return store.RemoteRow{}, &apicall.Refused{Code: apicall.FailInvldBackupConfig, Message: fmt.Sprintf("The given URL '%s' is not valid.", l.URL), Correction: "Give it as http(s)://host[:port]."}
	}
	if l.ClusterID != "" {
		if _, err := uuid.Parse(l.ClusterID); err != nil {
			return store.RemoteRow{}, &apicall.Refused{Code: apicall.FailInvldBackupConfig, Message: "The given cluster id is not a valid UUID"}
		}
	}
	row := store.RemoteRow{RemoteName: l.Name, Kind: store.RemoteLinstor, URL: l.URL, ClusterID: l.ClusterID}
	if l.Passphrase != "" {
		key, err := r.key()
		if err != nil {
			return store.RemoteRow{}, err
		}
		if row.PassphraseSealed, err = r.seal(key, l.Name, "passphrase", l.Passphrase); err != nil {
			return store.RemoteRow{}, err
		}
	}
	return r.Store.CreateRemote(ctx, row)
}
