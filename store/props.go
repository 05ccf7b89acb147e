package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Property container instances. Like LINSTOR, every object's properties
// live in one table keyed by the object's instance path, built from its
// upper-cased names. Paths of children start with their parent's names, so
// that deleting a parent can drop its children's properties by prefix.
const CtrlPropsInstance = "/CTRLCFG"

func NodeInstance(node string) string { return "/NODES/" + Key(node) }
func StorPoolDefinitionInstance(pool string) string {
	return "/STORPOOLDEFINITIONS/" + Key(pool)
}
func StoragePoolInstance(node, pool string) string {
	return "/STORPOOLCONF/" + Key(node) + "/" + Key(pool)
}
func ResourceGroupInstance(rg string) string { return "/RESOURCEGROUPS/" + Key(rg) }
func VolumeGroupInstance(rg string, nr int32) string {
	return "/VOLUMEGROUPS/" + Key(rg) + "/" + strconv.Itoa(int(nr))
}
func ResourceDefinitionInstance(rd string) string { return "/RESOURCEDEFINITIONS/" + Key(rd) }
func VolumeDefinitionInstance(rd string, nr int32) string {
	return "/VOLUMEDEFINITIONS/" + Key(rd) + "/" + strconv.Itoa(int(nr))
}
func ResourceInstance(rd, node string) string { return "/RESOURCES/" + Key(rd) + "/" + Key(node) }
func VolumeInstance(rd, node string, nr int32) string {
	return "/VOLUMES/" + Key(rd) + "/" + Key(node) + "/" + strconv.Itoa(int(nr))
}
func NodeConnectionInstance(a, b string) string {
	a, b = ordered(a, b)
	return "/CONDFN/NODES/" + a + "/" + b
}
func ResourceConnectionInstance(rd, a, b string) string {
	a, b = ordered(a, b)
	return "/CONDFN/RESOURCES/" + Key(rd) + "/" + a + "/" + b
}

// ordered returns the two node keys of a connection in a fixed order, so
// that a-b and b-a name the same connection.
func ordered(a, b string) (string, string) {
	a, b = Key(a), Key(b)
	if a > b {
		return b, a
	}
	return a, b
}

// KeyClusterLocalID is the controller property holding the cluster's
// identity, created once by the first controller that starts on a database.
const KeyClusterLocalID = "Cluster/LocalID"

type propRow struct {
	PropsInstance string `gorm:"primaryKey"`
	PropKey       string `gorm:"primaryKey"`
	PropValue     string
}

func (propRow) TableName() string { return "props_containers" }

// Props returns every property of one container.
func (s *Store) Props(ctx context.Context, instance string) (map[string]string, error) {
	return readProps(s.DB.WithContext(ctx), instance)
}

func readProps(db *gorm.DB, instance string) (map[string]string, error) {
	var rows []propRow
	if err := db.Where("props_instance = ?", instance).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read properties of %s: %w", instance, err)
	}
	props := make(map[string]string, len(rows))
	for _, r := range rows {
		props[r.PropKey] = r.PropValue
	}
	return props, nil
}

// propsUnder returns the properties of every container whose instance path
// starts with one of the prefixes (range scans of the primary key), by
// instance.
func propsUnder(db *gorm.DB, prefixes ...string) (map[string]map[string]string, error) {
	var rows []propRow
	q := db.Where("1 = 0")
	for _, p := range prefixes {
		q = q.Or("props_instance >= ? AND props_instance < ?", p, prefixEnd(p))
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read properties under %v: %w", prefixes, err)
	}
	out := map[string]map[string]string{}
	for _, r := range rows {
		m := out[r.PropsInstance]
		if m == nil {
			m = map[string]string{}
			out[r.PropsInstance] = m
		}
		m[r.PropKey] = r.PropValue
	}
	return out, nil
}

// prefixEnd is the smallest string above every string starting with
// prefix: the prefix with its last byte counted up (prefixes here end in
// ASCII).
func prefixEnd(prefix string) string {
	return prefix[:len(prefix)-1] + string(rune(prefix[len(prefix)-1]+1))
}

// PropsModify is LINSTOR's generic change of an object's properties.
type PropsModify struct {
	OverrideProps    map[string]string
	DeleteProps      []string
	DeleteNamespaces []string
}

// Empty reports whether the change changes nothing.
func (m PropsModify) Empty() bool {
	return len(m.OverrideProps) == 0 && len(m.DeleteProps) == 0 && len(m.DeleteNamespaces) == 0
}

// Check validates every key and value against the whitelist of kind.
func (m PropsModify) Check(kind Kind) *Error {
	keys := make([]string, 0, len(m.OverrideProps))
	for k := range m.OverrideProps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := CheckProp(kind, k, m.OverrideProps[k]); err != nil {
			return err
		}
	}
	for _, k := range m.DeleteProps {
		if err := checkPropKey(kind, k); err != nil {
			return err
		}
	}
	for _, ns := range m.DeleteNamespaces {
		if strings.Trim(ns, "/") == "" {
			return refuse(Invalid, kind, "The namespace to delete is empty.", "", "Name a namespace such as 'Aux'.")
		}
		if err := checkPropKey(kind, strings.Trim(ns, "/")); err != nil {
			return err
		}
	}
	return nil
}

// applyProps writes a props change inside a transaction. Deleting a key
// that is not set is not an error, as in LINSTOR.
func applyProps(tx *gorm.DB, instance string, m PropsModify) error {
	for _, k := range m.DeleteProps {
		if err := tx.Where("props_instance = ? AND prop_key = ?", instance, k).Delete(&propRow{}).Error; err != nil {
			return err
		}
	}
	for _, ns := range m.DeleteNamespaces {
		ns = strings.Trim(ns, "/") + "/"
		if err := tx.Where("props_instance = ? AND prop_key >= ? AND prop_key < ?", instance, ns, prefixEnd(ns)).Delete(&propRow{}).Error; err != nil {
			return err
		}
	}
	return setProps(tx, instance, m.OverrideProps)
}

func setProps(tx *gorm.DB, instance string, props map[string]string) error {
	if len(props) == 0 {
		return nil
	}
	rows := make([]propRow, 0, len(props))
	for k, v := range props {
		rows = append(rows, propRow{instance, k, v})
	}
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "props_instance"}, {Name: "prop_key"}},
		DoUpdates: clause.AssignmentColumns([]string{"prop_value"}),
	}).Create(&rows).Error
}

// dropProps deletes the containers named and every container under the
// prefixes (which end in '/').
func dropProps(tx *gorm.DB, instances []string, prefixes ...string) error {
	for start := 0; start < len(instances); start += 500 {
		end := min(start+500, len(instances))
		if err := tx.Where("props_instance IN ?", instances[start:end]).Delete(&propRow{}).Error; err != nil {
			return err
		}
	}
	for _, p := range prefixes {
		if err := tx.Where("props_instance >= ? AND props_instance < ?", p, prefixEnd(p)).Delete(&propRow{}).Error; err != nil {
			return err
		}
	}
	return nil
}

// underNames returns base alone when names is empty (everything under
// base), else base followed by each name's key and then suffix: the
// prefixes of the named objects' containers. Without a suffix a prefix
// also takes in longer names ("/NODES/N1" covers "/NODES/N10"); callers
// look containers up by their exact instance path.
func underNames(base, suffix string, names []string) []string {
	if len(names) == 0 {
		return []string{base}
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = base + Key(n) + suffix
	}
	return out
}

// ModifyControllerProps changes the controller's properties.
func (s *Store) ModifyControllerProps(ctx context.Context, m PropsModify) error {
	if err := m.Check(KindController); err != nil {
		return err
	}
	return s.Write(ctx, func(tx *gorm.DB) error { return applyProps(tx, CtrlPropsInstance, m) })
}

// EnsureClusterID returns the cluster's id, creating it if this is the first
// start on the database. Controllers starting together agree on one id.
func (s *Store) EnsureClusterID(ctx context.Context) (string, error) {
	return s.ensureProp(ctx, CtrlPropsInstance, KeyClusterLocalID, uuid.NewString())
}

// secretsInstance holds the cluster's own secrets: properties no API
// answer shows.
const secretsInstance = "/SECRETS"

// AgentToken is the token the cluster's controllers prove themselves to
// the agents with, made at the first start on the database; the API
// never shows it.
func (s *Store) AgentToken(ctx context.Context) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return s.ensureProp(ctx, secretsInstance, "AgentToken", hex.EncodeToString(b))
}

// ensureProp returns a property of instance, setting it to value first
// when it is not set; concurrent callers agree on one value.
func (s *Store) ensureProp(ctx context.Context, instance, key, value string) (string, error) {
	row := propRow{PropsInstance: instance, PropKey: key, PropValue: value}
	db := s.DB.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return "", fmt.Errorf("set %s: %w", key, err)
	}
	var got propRow
	if err := db.Where("props_instance = ? AND prop_key = ?", instance, key).Take(&got).Error; err != nil {
		return "", fmt.Errorf("read %s: %w", key, err)
	}
	return got.PropValue, nil
}
