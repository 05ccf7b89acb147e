package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"strata/agent/proto"
	"strata/agentlink"
	"strata/apicall"
	"strata/restapi"
	"strata/store"
)

// maxExternalFileKib bounds an external file's content: they are
// configuration files (drbd-reactor plug-ins, systemd units), and each
// node state carries the files of its resources.
const maxExternalFileKib = 1024

// ExtFilePath is an external file's name in a path: the file's absolute
// path, URL-encoded (golinstor and the linstor client escape its '/').
type ExtFilePath struct {
	ExtFileName string `path:"extFileName"`
}

// path is the file's path, decoded once more as LINSTOR does, so that a
// path the router left escaped (%2F) and one it decoded read the same.
func (p ExtFilePath) path() string {
	if d, err := url.PathUnescape(p.ExtFileName); err == nil {
		return d
	}
	return p.ExtFileName
}

func extFileRefs(path string) map[string]string { return map[string]string{"ExtFile": path} }

// checkExtFilePath refuses a path that is not absolute and clean, or
// that holds control characters, as LINSTOR refuses it.
func checkExtFilePath(path string, op uint64) error {
	const obj = apicall.MaskExtFiles
	switch {
	case path == "":
		return invalid(apicall.FailInvldExtFileName, op, obj, "The path must not be null or empty", "", "")
	case !strings.HasPrefix(path, "/"):
		return invalid(apicall.FailInvldExtFileName, op, obj, fmt.Sprintf("The path '%s' must be absolute", apicall.Clip(path)), "", "Give the path from /, such as /etc/drbd-reactor.d/r1.toml.")
	case filepath.Clean(path) != path || path == "/":
		return invalid(apicall.FailInvldExtFileName, op, obj, fmt.Sprintf("Invalid external file name '%s'.", apicall.Clip(path)), "The path is not clean: it has '..', '.', a repeated or trailing '/'.", "Give the file's plain absolute path.")
	case len(path) > 4096 || strings.ContainsFunc(path, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return invalid(apicall.FailInvldExtFileName, op, obj, "Invalid external file name.", "The path is longer than 4096 bytes or holds control characters.", "")
	}
	return nil
}

func checkAltSuffixes(suffixes []string, op uint64) error {
	for _, s := range suffixes {
		if s == "" || strings.Contains(s, "/") || strings.Contains(s, "..") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
			return invalid(apicall.FailInvldExtFile, op, apicall.MaskExtFiles, fmt.Sprintf("Alternative suffixes must not contain path separators or '..': %s", s), "", "")
		}
	}
	return nil
}

func externalFileJSON(f store.ExternalFile, content bool) restapi.ExternalFile {
	out := restapi.ExternalFile{Path: f.Path, AltSuffixes: f.AltSuffixes}
	if content {
		out.Content = base64.StdEncoding.EncodeToString(f.Content)
	}
	return out
}

// registerExternalFiles serves LINSTOR's external files: files (a
// drbd-reactor plug-in, a systemd unit) registered once and attached to
// resource definitions, which every node holding one of their resources
// writes — only into the directories its agent allows (--allow-ext-files,
// LINSTOR's allowExtFiles).
func (s *server) registerExternalFiles(h huma.API) {
	huma.Register(h, developerOp("externalFileList", http.MethodGet, "/v1/files", "list the external files"),
		func(ctx context.Context, in *struct {
			Content bool `query:"content"`
		}) (*struct{ Body []restapi.ExternalFile }, error) {
			files, err := s.Store.ListExternalFiles(ctx)
			if err != nil {
				return nil, failure(err, 0, apicall.MaskExtFiles, nil)
			}
			out := make([]restapi.ExternalFile, len(files))
			for i, f := range files {
				out[i] = externalFileJSON(f, in.Content)
			}
			return &struct{ Body []restapi.ExternalFile }{out}, nil
		})
	huma.Register(h, developerOp("externalFileShow", http.MethodGet, "/v1/files/{extFileName}", "show an external file with its content"),
		func(ctx context.Context, in *ExtFilePath) (*struct{ Body restapi.ExternalFile }, error) {
			f, err := s.Store.GetExternalFile(ctx, in.path())
			if err != nil {
				return nil, notFoundOnly(err)
			}
			return &struct{ Body restapi.ExternalFile }{externalFileJSON(f, true)}, nil
		})
	modify := developerOp("externalFileModify", http.MethodPut, "/v1/files/{extFileName}", "register or change an external file")
	modify.MaxBodyBytes = 2 * maxExternalFileKib << 10 // base64 makes 4 bytes of 3
	huma.Register(h, modify,
		func(ctx context.Context, in *struct {
			ExtFilePath
			OperationWaitParam
			Body restapi.ExternalFile
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskExtFiles
			path := in.path()
			refs := extFileRefs(path)
			if err := checkExtFilePath(path, op); err != nil {
				return nil, err
			}
			if err := checkAltSuffixes(in.Body.AltSuffixes, op); err != nil {
				return nil, err
			}
			content, err := base64.StdEncoding.DecodeString(in.Body.Content)
			if err != nil {
				return nil, invalid(apicall.FailInvldExtFile, op, obj, "The content is not base64.", err.Error(), "Send the file's bytes base64-encoded.")
			}
			if len(content) > maxExternalFileKib*1024 {
				return nil, invalid(apicall.FailInvldExtFile, op, obj, fmt.Sprintf("The content of %d bytes is too large.", len(content)), fmt.Sprintf("An external file holds at most %d KiB.", maxExternalFileKib), "")
			}
			created, id, attached, err := s.Store.SetExternalFile(ctx, path, store.ExternalFileChange{Content: content, AltSuffixes: in.Body.AltSuffixes})
			if err != nil {
				return nil, failure(err, op, obj, refs)
			}
			code, msg := apicall.Modified, fmt.Sprintf("External file '%s' modified.", path)
			if created {
				code, msg = apicall.Created, fmt.Sprintf("External file '%s' registered.", path)
			}
			return s.deployAll(ctx, success(code, op, obj, msg, id, refs).Body, op, obj, attached, in.wait(s.OperationWait))
		})
	huma.Register(h, developerOp("externalFileDelete", http.MethodDelete, "/v1/files/{extFileName}", "delete an external file from the nodes and the cluster"),
		func(ctx context.Context, in *struct {
			ExtFilePath
			OperationWaitParam
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskDel, apicall.MaskExtFiles
			path := in.path()
			id, attached, err := s.Store.DeleteExternalFile(ctx, path)
			if err != nil {
				return nil, failure(err, op, obj, extFileRefs(path))
			}
			if id == "" {
				rc := apicall.NewRc(apicall.WarnNotFound, op, obj, fmt.Sprintf("External file: %s not found in LINSTOR database.", path))
				return &rcOutput{apicall.RcList{rc}}, nil
			}
			out := success(apicall.Deleted, op, obj, fmt.Sprintf("External file: %s deleted.", path), id, extFileRefs(path)).Body
			return s.deployAll(ctx, out, op, obj, attached, in.wait(s.OperationWait))
		})
	huma.Register(h, developerOp("externalFileCheck", http.MethodGet, "/v1/files/{extFileName}/check/{node}", "tell whether a node's agent may write an external file"),
		func(_ context.Context, in *struct {
			ExtFilePath
			Node string `path:"node"`
		}) (*struct{ Body restapi.ExtFileCheckResult }, error) {
			path := in.path()
			allowed := false
			if s.Agents != nil && checkExtFilePath(path, 0) == nil {
				for _, d := range s.Agents.Status(in.Node).Info.ExternalFileDirs {
					allowed = allowed || filepath.Clean(d) == filepath.Dir(path)
				}
			}
			return &struct{ Body restapi.ExtFileCheckResult }{restapi.ExtFileCheckResult{Allowed: allowed}}, nil
		})
	huma.Register(h, developerOp("externalFileStatus", http.MethodGet, "/v1/files/{extFileName}/status/{node}", "show an external file as it is on a node"),
		func(ctx context.Context, in *struct {
			ExtFilePath
			Node string `path:"node"`
		}) (*struct{ Body restapi.ExtFileStatusResult }, error) {
			f, err := s.Store.GetExternalFile(ctx, in.path())
			if err != nil {
				return nil, notFoundOnly(err)
			}
			var st proto.ExternalFileStatus
			if err := s.askAgent(ctx, in.Node, 0, 0, fmt.Sprintf("Could not ask satellite '%s' for external file %s.", in.Node, f.Path),
				func(ctx context.Context, agents *agentlink.Link) (err error) {
					st, err = agents.ExternalFileStatus(ctx, in.Node, f.Path, f.AltSuffixes)
					return err
				}); err != nil {
				return nil, err
			}
			sum := sha256.Sum256(f.Content)
			return &struct{ Body restapi.ExtFileStatusResult }{restapi.ExtFileStatusResult{ActualPath: st.ActualPath, ContentMatch: st.ActualPath != "" && st.SHA256 == hex.EncodeToString(sum[:])}}, nil
		})
	attach := func(id, method, summary string, on bool) {
		huma.Register(h, developerOp(id, method, "/v1/resource-definitions/{resource}/files/{extFileName}", summary),
			func(ctx context.Context, in *struct {
				RdPath
				ExtFilePath
				OperationWaitParam
			}) (*rcOutput, error) {
				const op, obj = apicall.MaskMod, apicall.MaskRscDfn
				path := in.path()
				refs := map[string]string{"RscDfn": in.Resource, "ExtFile": path}
				if err := checkExtFilePath(path, op); err != nil {
					return nil, err
				}
				rd, err := s.Store.AttachExternalFile(ctx, in.Resource, path, on)
				if err != nil {
					return nil, failure(err, op, obj, refs)
				}
				msg := fmt.Sprintf("External file '%s' is deployed with resource definition '%s'.", path, rd)
				if !on {
					msg = fmt.Sprintf("External file '%s' is no longer deployed with resource definition '%s'.", path, rd)
				}
				return s.answerDeployed(ctx, success(apicall.Modified, op, obj, msg, "", refs).Body, op, obj, rd, nil, in.wait(s.OperationWait))
			})
	}
	attach("resourceDeploy", http.MethodPost, "deploy an external file with a resource definition", true)
	attach("resourceUndeploy", http.MethodDelete, "stop deploying an external file with a resource definition", false)
}
