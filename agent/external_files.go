package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"strata/agent/proto"
)

// DefaultFilesRecord is where the agent keeps the list of external files
// it wrote, so that it deletes them once no resource wants them, even
// across its restarts.
const DefaultFilesRecord = "/var/lib/strata-agent/external-files.json"

// ExternalFiles are the agent's settings for LINSTOR's external files.
type ExternalFiles struct {
	// Dirs are the directories files may be written to, each a file's
	// direct parent (LINSTOR's allowExtFiles); none: no file is written.
	Dirs []string
	// Record is the agent's list of the files it wrote
	// (DefaultFilesRecord if empty).
	Record string
}

func (x ExternalFiles) record() string {
	if x.Record == "" {
		return DefaultFilesRecord
	}
	return x.Record
}

// allowed says whether path may be written: absolute, and its parent one
// of the allowed directories.
func (x ExternalFiles) allowed(path string) error {
	clean := filepath.Clean(path)
	if !filepath.IsAbs(path) || clean != path {
		return fmt.Errorf("the path %s is not absolute and clean", path)
	}
	parent := filepath.Dir(clean)
	for _, d := range x.Dirs {
		if filepath.Clean(d) == parent {
			return nil
		}
	}
	return fmt.Errorf("the path %s does not have a whitelisted parent. Allowed parent directories: %v", path, x.Dirs)
}

// applyFiles writes the external files wanted whose content differs from
// what is on the node, and deletes those the agent wrote before that are
// no longer wanted. It answers the files it could not write or delete.
func (a *Agent) applyFiles(want []proto.ExternalFile) map[string]string {
	written, err := a.readFilesRecord()
	if err != nil {
		return map[string]string{a.Files.record(): err.Error()}
	}
	if len(want) == 0 && len(written) == 0 {
		return nil
	}
	failed := map[string]string{}
	wanted := map[string]bool{}
	for _, f := range want {
		wanted[f.Path] = true
		if err := a.Files.allowed(f.Path); err != nil {
			failed[f.Path] = err.Error()
			continue
		}
		if err := writeExternalFile(f); err != nil {
			failed[f.Path] = err.Error()
			continue
		}
		written[f.Path] = f.AltSuffixes
	}
	for _, path := range slices.Sorted(maps.Keys(written)) {
		if wanted[path] {
			continue
		}
		if err := removeExternalFile(path, written[path]); err != nil {
			failed[path] = err.Error()
			continue
		}
		a.Log.Info("external file deleted", "path", path)
		delete(written, path)
	}
	if err := a.writeFilesRecord(written); err != nil {
		failed[a.Files.record()] = err.Error()
	}
	if len(failed) == 0 {
		return nil
	}
	return failed
}

// actualPath is where an external file is: its path, or the path with
// one of its alternative suffixes; "" when it is nowhere.
func actualPath(path string, altSuffixes []string) (string, error) {
	for _, p := range append([]string{path}, alternatives(path, altSuffixes)...) {
		_, err := os.Lstat(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", nil
}

func alternatives(path string, suffixes []string) []string {
	out := make([]string, len(suffixes))
	for i, s := range suffixes {
		out[i] = path + s
	}
	return out
}

// writeExternalFile puts a file's content where it is (or at its path)
// through a temporary file renamed over it, so that a reader never sees
// half a file; an unchanged file is not touched.
func writeExternalFile(f proto.ExternalFile) error {
	target, err := actualPath(f.Path, f.AltSuffixes)
	if err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if target == "" {
		target = f.Path
	} else {
		old, err := os.ReadFile(target)
		if err != nil {
			return err
		}
		if bytes.Equal(old, f.Content) {
			return nil
		}
		if st, err := os.Stat(target); err == nil {
			mode = st.Mode().Perm()
		}
	}
	return replaceFile(target, f.Content, mode)
}

// replaceFile writes path atomically: a temporary file beside it, synced,
// then renamed over it.
func replaceFile(path string, content []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; left by a failure
	if _, err := tmp.Write(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func removeExternalFile(path string, altSuffixes []string) error {
	for _, p := range append([]string{path}, alternatives(path, altSuffixes)...) {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// readFilesRecord is the agent's record of the files it wrote, with each
// one's alternative suffixes.
func (a *Agent) readFilesRecord() (map[string][]string, error) {
	out := map[string][]string{}
	b, err := os.ReadFile(a.Files.record())
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("the record of external files %s is unreadable: %w", a.Files.record(), err)
	}
	return out, nil
}

func (a *Agent) writeFilesRecord(written map[string][]string) error {
	path := a.Files.record()
	if len(written) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := json.Marshal(written)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return replaceFile(path, b, 0o600)
}

// ExternalFileStatus is where an external file is on the node and the
// SHA-256 of its content.
func ExternalFileStatus(path string, altSuffixes []string) (proto.ExternalFileStatus, error) {
	actual, err := actualPath(path, altSuffixes)
	if err != nil || actual == "" {
		return proto.ExternalFileStatus{}, err
	}
	b, err := os.ReadFile(actual)
	if err != nil {
		return proto.ExternalFileStatus{}, err
	}
	sum := sha256.Sum256(b)
	return proto.ExternalFileStatus{ActualPath: actual, SHA256: hex.EncodeToString(sum[:])}, nil
}
