package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"strata/apicall"
)

// ExternalFileRow is one of LINSTOR's external files: a file, named by
// the absolute path it is written to, that the agents of the nodes
// holding a resource of a definition it is attached to write there.
type ExternalFileRow struct {
	Path string `gorm:"primaryKey"`
	UUID string `gorm:"column:uuid"`
	// Content is the file's bytes in base64, one text column for both
	// databases.
	Content     string
	AltSuffixes string // JSON list
}

func (ExternalFileRow) TableName() string { return "external_files" }

// ExternalFile is an external file with its content.
type ExternalFile struct {
	Path        string
	UUID        string
	Content     []byte
	AltSuffixes []string
}

// FilesNamespace holds a definition's attached external files: the key
// is the file's path under it, the value True.
const FilesNamespace = "Files/"

// FilesProp is the definition property that attaches the file at path.
func FilesProp(path string) string { return FilesNamespace + strings.TrimPrefix(path, "/") }

// AttachedFiles are the paths of the external files a definition's
// properties attach.
func AttachedFiles(props map[string]string) []string {
	var out []string
	for k, v := range props {
		if strings.HasPrefix(k, FilesNamespace) && strings.EqualFold(v, "True") {
			out = append(out, "/"+strings.TrimPrefix(k, FilesNamespace))
		}
	}
	return out
}

func (r ExternalFileRow) file() (ExternalFile, error) {
	content, err := base64.StdEncoding.DecodeString(r.Content)
	if err != nil {
		return ExternalFile{}, fmt.Errorf("external file %s: content: %w", r.Path, err)
	}
	f := ExternalFile{Path: r.Path, UUID: r.UUID, Content: content}
	if r.AltSuffixes != "" {
		if err := json.Unmarshal([]byte(r.AltSuffixes), &f.AltSuffixes); err != nil {
			return ExternalFile{}, fmt.Errorf("external file %s: alternative suffixes: %w", r.Path, err)
		}
	}
	return f, nil
}

func externalFileNotFound(path string) *Error {
	return &Error{Problem: NotFound, Code: apicall.FailNotFoundExtFile, Message: fmt.Sprintf("External file '%s' not found.", path)}
}

// ListExternalFiles returns every external file, by path; paths given
// narrow it to those.
func (s *Store) ListExternalFiles(ctx context.Context, paths ...string) ([]ExternalFile, error) {
	q := s.DB.WithContext(ctx).Order("path")
	if len(paths) > 0 {
		q = q.Where("path IN ?", paths)
	}
	var rows []ExternalFileRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list external files: %w", err)
	}
	out := make([]ExternalFile, len(rows))
	for i, r := range rows {
		f, err := r.file()
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

// GetExternalFile returns one external file.
func (s *Store) GetExternalFile(ctx context.Context, path string) (ExternalFile, error) {
	var row ExternalFileRow
	ok, err := found(s.DB.WithContext(ctx).Take(&row, "path = ?", path).Error)
	if err != nil {
		return ExternalFile{}, err
	}
	if !ok {
		return ExternalFile{}, externalFileNotFound(path)
	}
	return row.file()
}

// ExternalFileChange registers an external file or changes one: content
// nil keeps a registered file's content, AltSuffixes nil its suffixes.
type ExternalFileChange struct {
	Content     []byte
	AltSuffixes []string
}

// SetExternalFile registers or changes the external file at path. It
// answers whether the file is new, its UUID, and the definitions it is
// attached to, whose nodes must get the new content.
func (s *Store) SetExternalFile(ctx context.Context, path string, c ExternalFileChange) (created bool, id string, attached []string, err error) {
	err = s.Write(ctx, func(tx *gorm.DB) error {
		var row ExternalFileRow
		ok, err := found(tx.Take(&row, "path = ?", path).Error)
		if err != nil {
			return err
		}
		if !ok {
			if len(c.Content) == 0 {
				return &Error{Problem: Invalid, Code: apicall.FailInvldExtFile, Message: "The content must not be null or empty"}
			}
			row = ExternalFileRow{Path: path, UUID: uuid.NewString()}
			created = true
		}
		if len(c.Content) > 0 {
			row.Content = base64.StdEncoding.EncodeToString(c.Content)
		}
		if c.AltSuffixes != nil {
			b, err := json.Marshal(c.AltSuffixes)
			if err != nil {
				return err
			}
			row.AltSuffixes = string(b)
		}
		if err := tx.Save(&row).Error; err != nil {
			return err
		}
		id = row.UUID
		attached, err = definitionsWithProp(tx, FilesProp(path))
		return err
	})
	return created, id, attached, err
}

// DeleteExternalFile deletes the external file at path and detaches it
// from every definition, in one transaction; the agents of those
// definitions' nodes delete the file when they get their new state. It
// answers the file's UUID ("" when there was none) and the definitions.
func (s *Store) DeleteExternalFile(ctx context.Context, path string) (id string, attached []string, err error) {
	err = s.Write(ctx, func(tx *gorm.DB) error {
		var row ExternalFileRow
		ok, err := found(tx.Take(&row, "path = ?", path).Error)
		if err != nil || !ok {
			return err
		}
		id = row.UUID
		if attached, err = definitionsWithProp(tx, FilesProp(path)); err != nil {
			return err
		}
		if err := tx.Where("props_instance LIKE ? AND prop_key = ?", "/RESOURCEDEFINITIONS/%", FilesProp(path)).Delete(&propRow{}).Error; err != nil {
			return err
		}
		return tx.Delete(&row).Error
	})
	return id, attached, err
}

// AttachExternalFile has the nodes of definition rd deploy the external
// file at path (LINSTOR's file deploy), or no longer deploy it (detach).
// It answers the definition's display name.
func (s *Store) AttachExternalFile(ctx context.Context, rd, path string, attach bool) (string, error) {
	var name string
	err := s.Write(ctx, func(tx *gorm.DB) error {
		def, err := takeResourceDefinition(tx, rd)
		if err != nil {
			return err
		}
		name = def.ResourceDspName
		instance := ResourceDefinitionInstance(rd)
		if !attach {
			return applyProps(tx, instance, PropsModify{DeleteProps: []string{FilesProp(path)}})
		}
		ok, err := found(tx.Take(&ExternalFileRow{}, "path = ?", path).Error)
		if err != nil {
			return err
		}
		if !ok {
			return externalFileNotFound(path)
		}
		return setProps(tx, instance, map[string]string{FilesProp(path): "True"})
	})
	return name, err
}

// definitionsWithProp are the display names of the definitions that
// have property key set.
func definitionsWithProp(tx *gorm.DB, key string) ([]string, error) {
	var names []string
	err := tx.Model(&ResourceDefinitionRow{}).
		Where("resource_name IN (?)", tx.Model(&propRow{}).
			Select("SUBSTR(props_instance, ?)", len("/RESOURCEDEFINITIONS/")+1).
			Where("props_instance LIKE ? AND prop_key = ?", "/RESOURCEDEFINITIONS/%", key)).
		Order("resource_name").Pluck("resource_dsp_name", &names).Error
	return names, err
}
