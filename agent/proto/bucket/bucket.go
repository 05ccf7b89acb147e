// Package bucket is Strata's backup format in an S3 bucket, shared by the
// agents that write and read the data and the controller that lists,
// commits and deletes backups (docs/backup-format.md):
//
//   - a backup is listed under LINSTOR's id, <rsc>_back_YYYYMMDD_HHMMSS
//     [suffix][^snap], and its <id>.meta object, written last, commits it;
//   - each volume's data key (LINSTOR's name of the volume's stream) holds
//     a Manifest: the volume's chunks in order, each a chain of
//     content-addressed objects under strata/;
//   - a chain is a full chunk followed by deltas, each delta the blocks
//     that changed against the object before it.
package bucket

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// ChunkSize is the span of the volume one manifest entry covers.
const ChunkSize = 4 << 20

// BlockSize is the granularity of a delta: the file systems' block.
const BlockSize = 4 << 10

// Prefix holds the content-addressed objects; LINSTOR's listing of the
// bucket does not show them.
const Prefix = "strata/"

// Object prefixes: full chunks, deltas, and the leases of running
// shipments that hold off garbage collection.
const (
	ChunkPrefix = Prefix + "chunks/"
	DeltaPrefix = Prefix + "deltas/"
	LeasePrefix = Prefix + "leases/"
)

// How an object's bytes are stored, as its Content-Type says: compressed
// with zstd, or as they are where compressing them does not pay.
const (
	ContentZstd = "application/zstd"
	ContentRaw  = "application/octet-stream"
)

// BackupIDFormat is the time layout of a backup id.
const BackupIDFormat = "20060102_150405"

// BackupID is LINSTOR's id of a backup started at t (the controller's
// local time).
func BackupID(t time.Time) string { return "back_" + t.Format(BackupIDFormat) }

// Name is a backup's name in the bucket: resource, backup id, the
// controller's S3 key suffix and the snapshot's name when it is not the
// backup id.
type Name struct {
	Resource, BackupID, Suffix, Snapshot string
}

func (n Name) snapPart() string {
	if n.Snapshot == "" || n.Snapshot == n.BackupID {
		return ""
	}
	return "^" + n.Snapshot
}

// ID is the backup's id: its meta key without .meta.
func (n Name) ID() string { return n.Resource + "_" + n.BackupID + n.Suffix + n.snapPart() }

// MetaKey is the key of the backup's commit marker.
func (n Name) MetaKey() string { return n.ID() + ".meta" }

// DataKey is the key of a volume's manifest.
func (n Name) DataKey(vlmNr int32) string {
	return fmt.Sprintf("%s_%05d_%s%s%s", n.Resource, vlmNr, n.BackupID, n.Suffix, n.snapPart())
}

// SnapshotName is the snapshot the backup was taken of.
func (n Name) SnapshotName() string {
	if n.Snapshot == "" {
		return n.BackupID
	}
	return n.Snapshot
}

// Time is when the backup started, in loc.
func (n Name) Time(loc *time.Location) (time.Time, error) {
	return time.ParseInLocation(BackupIDFormat, strings.TrimPrefix(n.BackupID, "back_"), loc)
}

var (
	// LINSTOR's patterns, with the suffix kept from taking the
	// snapshot's '^' (LINSTOR's lazy suffix swallows it when there is no
	// suffix).
	metaRE = regexp.MustCompile(`^([a-zA-Z0-9_-]{2,48})_(back_[0-9]{8}_[0-9]{6})([^^]*?)(\^.*)?\.meta$`)
	dataRE = regexp.MustCompile(`^([a-zA-Z0-9_-]{2,48})(\..+)?_([0-9]{5})_(back_[0-9]{8}_[0-9]{6})([^^]*)(\^.*)?$`)
	idRE   = regexp.MustCompile(`^([a-zA-Z0-9_-]{2,48})_(back_[0-9]{8}_[0-9]{6})([^^]*)(\^.*)?$`)
)

// ParseMetaKey reads a meta key; ok is false for any other key.
func ParseMetaKey(key string) (Name, bool) {
	m := metaRE.FindStringSubmatch(key)
	if m == nil {
		return Name{}, false
	}
	return Name{Resource: m[1], BackupID: m[2], Suffix: m[3], Snapshot: strings.TrimPrefix(m[4], "^")}, true
}

// ParseID reads a backup id (a meta key without .meta).
func ParseID(id string) (Name, bool) {
	if strings.HasSuffix(id, ".meta") {
		return ParseMetaKey(id)
	}
	m := idRE.FindStringSubmatch(id)
	if m == nil {
		return Name{}, false
	}
	return Name{Resource: m[1], BackupID: m[2], Suffix: m[3], Snapshot: strings.TrimPrefix(m[4], "^")}, true
}

// ParseDataKey reads a volume's data key: the backup's name and volume
// number; ok is false for any other key.
func ParseDataKey(key string) (Name, int32, bool) {
	if strings.HasSuffix(key, ".meta") {
		return Name{}, 0, false
	}
	m := dataRE.FindStringSubmatch(key)
	if m == nil || m[2] != "" { // other storage volumes (.meta, .cache) are not Strata's
		return Name{}, 0, false
	}
	nr, err := strconv.Atoi(m[3])
	if err != nil {
		return Name{}, 0, false
	}
	return Name{Resource: m[1], BackupID: m[4], Suffix: m[5], Snapshot: strings.TrimPrefix(m[6], "^")}, int32(nr), true
}

// Meta is the backup's commit marker: LINSTOR's BackupMetaDataPojo, of
// which Strata fills what a restore needs.
type Meta struct {
	RscName         string                  `json:"rscName"`
	NodeName        string                  `json:"nodeName"`
	StartTimestamp  int64                   `json:"startTimestamp"`
	FinishTimestamp int64                   `json:"finishTimestamp"`
	BasedOn         *string                 `json:"basedOn"`
	RscDfn          MetaRscDfn              `json:"rscDfn"`
	Backups         map[string][]MetaBackup `json:"backups"`
	ClusterID       string                  `json:"clusterId"`
	SnapDfnUUID     string                  `json:"snapDfnUuid"`
	// Format names Strata's chunked data: LINSTOR cannot read it.
	Format string `json:"strataFormat"`
}

// MetaFormat is the format of Strata's data objects.
const MetaFormat = "strata-chunks/1"

// MetaRscDfn is the resource definition at the time of the backup.
type MetaRscDfn struct {
	SnapDfnProps map[string]string     `json:"snapDfnProps"`
	RscDfnProps  map[string]string     `json:"rscDfnProps"`
	Flags        int64                 `json:"flags"`
	VlmDfns      map[string]MetaVlmDfn `json:"vlmDfns"`
}

// MetaVlmDfn is a volume definition: its size in KiB.
type MetaVlmDfn struct {
	SnapVlmDfnProps map[string]string `json:"snapVlmDfnProps"`
	VlmDfnProps     map[string]string `json:"vlmDfnProps"`
	Flags           int64             `json:"flags"`
	Size            int64             `json:"size"`
}

// MetaBackup is one volume's data object, and (Strata's) the storage
// pool it was shipped from.
type MetaBackup struct {
	Name              string `json:"name"`
	FinishedTimestamp int64  `json:"finishedTimestamp"`
	Node              string `json:"node"`
	StorPool          string `json:"storPool,omitempty"`
}

// Manifest is one volume of one backup: every chunk that holds data, so
// that it restores alone. A chunk not listed is zeros.
type Manifest struct {
	Format    string  `json:"format"`
	Resource  string  `json:"resource"`
	VlmNr     int32   `json:"vlm_nr"`
	Snapshot  string  `json:"snapshot"`
	SizeBytes int64   `json:"size_bytes"`
	ChunkSize int64   `json:"chunk_size"`
	Chunks    []Chunk `json:"chunks"`
}

// ManifestFormat is the format of a Manifest.
const ManifestFormat = "strata-volume/1"

// Chunk is the data at Offset: Chain[len-1] is a full chunk, and each
// object before it a delta on the one after it.
type Chunk struct {
	Offset int64    `json:"offset"`
	Chain  []string `json:"chain"`
}

// MaxChain bounds a chunk's chain: past it the chunk is shipped whole,
// so that a restore never fetches more than this many objects per chunk.
const MaxChain = 8

// ChunkKey and DeltaKey are the keys of the objects named by id.
func ChunkKey(id string) string { return ChunkPrefix + id[:2] + "/" + id }
func DeltaKey(id string) string { return DeltaPrefix + id[:2] + "/" + id }

// ChainKey is the key of a chain's object at position i.
func ChainKey(chain []string, i int) string {
	if i == len(chain)-1 {
		return ChunkKey(chain[i])
	}
	return DeltaKey(chain[i])
}

// ObjectID is the id of an object key under Prefix; ok is false for
// other keys.
func ObjectID(key string) (string, bool) {
	for _, p := range []string{ChunkPrefix, DeltaPrefix} {
		if rest, ok := strings.CutPrefix(key, p); ok {
			_, id, ok := strings.Cut(rest, "/")
			return id, ok && len(id) == 64
		}
	}
	return "", false
}

// Sum is the id of data: its SHA-256.
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Delta is the blocks of a chunk that differ from its parent's: data
// where the chunk has data, Zero where it is a hole now.
type Delta struct {
	Parent string
	Ranges []Range
}

// Range is a span of a chunk and, unless it is a zero range, its data.
type Range struct {
	Offset int64
	Data   []byte
	Zero   int64 // length of a zero range
}

var deltaMagic = []byte("SDL1")

// Encode is the delta's payload; its Sum is the delta's id, and since
// the payload names the parent, a chain's ids check all of its data.
func (d Delta) Encode() []byte {
	n := len(deltaMagic) + 64 + 4
	for _, r := range d.Ranges {
		n += 17 + len(r.Data)
	}
	out := make([]byte, 0, n)
	out = append(out, deltaMagic...)
	out = append(out, d.Parent...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(d.Ranges)))
	for _, r := range d.Ranges {
		length, kind := int64(len(r.Data)), byte(0)
		if r.Data == nil {
			length, kind = r.Zero, 1
		}
		out = binary.BigEndian.AppendUint64(out, uint64(r.Offset))
		out = binary.BigEndian.AppendUint64(out, uint64(length))
		out = append(out, kind)
		out = append(out, r.Data...)
	}
	return out
}

// DecodeDelta reads a delta's payload.
func DecodeDelta(p []byte) (Delta, error) {
	bad := errors.New("not a Strata delta")
	if len(p) < len(deltaMagic)+68 || string(p[:len(deltaMagic)]) != string(deltaMagic) {
		return Delta{}, bad
	}
	p = p[len(deltaMagic):]
	d := Delta{Parent: string(p[:64])}
	count := binary.BigEndian.Uint32(p[64:68])
	p = p[68:]
	for range count {
		if len(p) < 17 {
			return Delta{}, bad
		}
		off, length, kind := int64(binary.BigEndian.Uint64(p)), int64(binary.BigEndian.Uint64(p[8:])), p[16]
		p = p[17:]
		// Compared without adding, which a crafted offset and length
		// could make overflow past the check.
		if off < 0 || length < 0 || off > ChunkSize || length > ChunkSize-off || kind > 1 {
			return Delta{}, bad
		}
		if kind == 1 {
			d.Ranges = append(d.Ranges, Range{Offset: off, Zero: length})
			continue
		}
		if int64(len(p)) < length {
			return Delta{}, bad
		}
		d.Ranges = append(d.Ranges, Range{Offset: off, Data: p[:length]})
		p = p[length:]
	}
	return d, nil
}

// Apply writes the delta onto its parent's data.
func (d Delta) Apply(chunk []byte) error {
	for _, r := range d.Ranges {
		end := r.Offset + int64(len(r.Data)) + r.Zero
		if end > int64(len(chunk)) {
			return fmt.Errorf("delta range %d+%d is past the chunk's %d bytes", r.Offset, end-r.Offset, len(chunk))
		}
		if r.Data != nil {
			copy(chunk[r.Offset:], r.Data)
		} else {
			clear(chunk[r.Offset:end])
		}
	}
	return nil
}

// Client is a minio-go client of an S3 endpoint (a URL, or a bare host
// that is then spoken to with TLS).
func Client(endpoint, region, accessKey, secretKey string, pathStyle bool) (*minio.Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		if u, err = url.Parse("https://" + endpoint); err != nil {
			return nil, fmt.Errorf("endpoint %q: %w", endpoint, err)
		}
	}
	lookup := minio.BucketLookupDNS
	if pathStyle {
		lookup = minio.BucketLookupPath
	}
	return minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, ""), Secure: u.Scheme == "https", Region: region, BucketLookup: lookup})
}
