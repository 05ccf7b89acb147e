package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// MinIO is a MinIO server under test: a real S3 server on loopback with
// its data in a temporary directory.
type MinIO struct {
	*process
	Endpoint             string // http://127.0.0.1:port
	AccessKey, SecretKey string
	Dir                  string
}

var (
	minioOnce sync.Once
	minioBin  string
	minioErr  error
)

// minioBinary builds the MinIO server of tools/minio once per machine: it
// is kept in the user's cache under the hash of that module's go.sum, so
// only a new pin builds again (about five minutes cold on two cores).
func minioBinary(t testing.TB) string {
	t.Helper()
	minioOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			minioErr = err
			return
		}
		dir := filepath.Join(root, "tools", "minio")
		sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
		if err != nil {
			minioErr = err
			return
		}
		cache, err := os.UserCacheDir()
		if err != nil {
			minioErr = err
			return
		}
		h := sha256.Sum256(sum)
		minioBin = filepath.Join(cache, "strata-tools", "minio-"+hex.EncodeToString(h[:8]))
		if _, err := os.Stat(minioBin); err == nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", minioBin, "github.com/minio/minio")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			minioErr = fmt.Errorf("build MinIO in tools/minio: %v\n%s", err, out)
		}
	})
	if minioErr != nil {
		t.Fatal(minioErr)
	}
	return minioBin
}

// Start (re)starts the server on its port and directory and waits until
// it is live.
func (m *MinIO) Start() {
	m.t.Helper()
	m.startBinary(minioBinary(m.t))
	if err := m.waitUntil(60*time.Second, func() error {
		resp, err := http.Get(m.Endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("health answered %d", resp.StatusCode)
			}
		}
		return err
	}); err != nil {
		m.t.Fatalf("MinIO did not start: %v\n%s", err, m.Log())
	}
}

// StartMinIO starts a MinIO server on a free port with the buckets
// named, and stops it when the test ends.
func StartMinIO(t testing.TB, buckets ...string) *MinIO {
	t.Helper()
	port, console := FreePort(t), FreePort(t)
	m := &MinIO{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), AccessKey: "strata-test", SecretKey: Secret("strata-test-secret-key"), Dir: t.TempDir()}
	m.process = &process{t: t, name: fmt.Sprintf("minio :%d", port), foreign: true, logPath: filepath.Join(t.TempDir(), "minio.log"),
		args: []string{"server", m.Dir, "--address", fmt.Sprintf("127.0.0.1:%d", port), "--console-address", fmt.Sprintf("127.0.0.1:%d", console), "--quiet"},
		env:  []string{"MINIO_ROOT_USER=" + m.AccessKey, "MINIO_ROOT_PASSWORD=" + m.SecretKey, "MINIO_BROWSER=off"}}
	m.Start()
	m.stopAtEnd()
	c, err := minio.New(fmt.Sprintf("127.0.0.1:%d", port), &minio.Options{Creds: credentials.NewStaticV4(m.AccessKey, m.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range buckets {
		if err := c.MakeBucket(context.Background(), b, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
			t.Fatalf("make bucket %s: %v", b, err)
		}
	}
	return m
}
