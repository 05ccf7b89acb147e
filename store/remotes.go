package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// Kinds of remotes.
const (
	RemoteS3      = "S3"
	RemoteLinstor = "LINSTOR"
)

// RemoteRow is a remote; its secrets are sealed with the master key.
type RemoteRow struct {
	RemoteName       string `gorm:"primaryKey"`
	RemoteDspName    string
	UUID             string `gorm:"column:uuid"`
	Kind             string
	Flags            Flags
	Endpoint         string
	Bucket           string
	Region           string
	UsePathStyle     bool
	AccessKeySealed  string
	SecretKeySealed  string
	URL              string `gorm:"column:url"`
	ClusterID        string
	PassphraseSealed string
}

func (RemoteRow) TableName() string { return "remotes" }

func remoteNotFound(name string) *Error {
	return &Error{Problem: NotFound, Kind: KindController, Message: fmt.Sprintf("Remote '%s' not found.", apicall.Clip(name)), Code: apicall.FailNotFoundRemote}
}

// remoteNameFree refuses a remote name that is taken.
func remoteNameFree(tx *gorm.DB, name string) error {
	dup := &Error{Problem: Exists, Kind: KindController, Code: apicall.FailExistsRemote,
		Message: fmt.Sprintf("A remote with the name '%s' already exists. Please use a different name or try to modify the remote instead.", name)}
	return absent[RemoteRow](tx, dup, "remote_name = ?", Key(name))
}

// RemoteNameFree refuses a remote name that is taken, before a create
// does slow checks (a bucket's probe); CreateRemote checks again.
func (s *Store) RemoteNameFree(ctx context.Context, name string) error {
	return remoteNameFree(s.DB.WithContext(ctx), name)
}

// CreateRemote stores a new remote.
func (s *Store) CreateRemote(ctx context.Context, r RemoteRow) (RemoteRow, error) {
	r.RemoteDspName, r.RemoteName, r.UUID = r.RemoteName, Key(r.RemoteName), uuid.NewString()
	err := s.Write(ctx, func(tx *gorm.DB) error {
		if err := remoteNameFree(tx, r.RemoteDspName); err != nil {
			return err
		}
		return tx.Create(&r).Error
	})
	return r, err
}

// GetRemote returns a remote.
func (s *Store) GetRemote(ctx context.Context, name string) (RemoteRow, error) {
	return take[RemoteRow](s.DB.WithContext(ctx), remoteNotFound(name), "remote_name = ?", Key(name))
}

// ListRemotes returns every remote, ordered by name.
func (s *Store) ListRemotes(ctx context.Context) ([]RemoteRow, error) {
	var rows []RemoteRow
	err := s.DB.WithContext(ctx).Order("remote_name").Find(&rows).Error
	return rows, err
}

// ModifyRemote changes a remote in one write: change gets the stored row
// and may refuse.
func (s *Store) ModifyRemote(ctx context.Context, name string, change func(*RemoteRow) error) (RemoteRow, error) {
	var row RemoteRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = take[RemoteRow](tx, remoteNotFound(name), "remote_name = ?", Key(name)); err != nil {
			return err
		}
		if err := change(&row); err != nil {
			return err
		}
		return tx.Save(&row).Error
	})
	return row, err
}

// DeleteRemote removes a remote, and its schedule properties everywhere.
func (s *Store) DeleteRemote(ctx context.Context, name string) (RemoteRow, error) {
	var row RemoteRow
	err := s.Write(ctx, func(tx *gorm.DB) error {
		var err error
		if row, err = take[RemoteRow](tx, remoteNotFound(name), "remote_name = ?", Key(name)); err != nil {
			return err
		}
		if err := dropScheduleProps(tx, func(remote, _ string) bool { return Key(remote) == row.RemoteName }); err != nil {
			return err
		}
		return tx.Delete(&row).Error
	})
	return row, err
}
