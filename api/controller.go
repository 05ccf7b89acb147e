package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"strata/apicall"
	"strata/restapi"
	"strata/store"
	"strata/workflows"
)

// ControllerVersion is LINSTOR's ControllerVersion object.
type ControllerVersion struct {
	Version        string `json:"version"`
	GitHash        string `json:"git_hash"`
	BuildTime      string `json:"build_time"`
	RestAPIVersion string `json:"rest_api_version"`
}

// DatabaseBackupRequest is LINSTOR's DatabaseBackupRequest object.
type DatabaseBackupRequest struct {
	BackupName string `json:"backup_name,omitempty" doc:"File name of the backup in the controller's backup directory"`
}

type rcOutput struct {
	Body apicall.RcList
}

var backupNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

func (s *server) registerController(h huma.API) {
	huma.Register(h, huma.Operation{
		OperationID: "controllerVersion",
		Method:      http.MethodGet,
		Path:        "/v1/controller/version",
		Summary:     "show controller version info",
		Tags:        []string{"developers"},
	}, func(context.Context, *struct{}) (*struct{ Body ControllerVersion }, error) {
		return &struct{ Body ControllerVersion }{ControllerVersion{
			Version:        s.Build.Version,
			GitHash:        s.Build.GitHash,
			BuildTime:      s.Build.BuildTime,
			RestAPIVersion: RestAPIVersion,
		}}, nil
	})

	huma.Register(h, huma.Operation{
		OperationID: "controllerPropertyList",
		Method:      http.MethodGet,
		Path:        "/v1/controller/properties",
		Summary:     "list all controller properties",
		Tags:        []string{"developers"},
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body map[string]string }, error) {
		props, err := s.Store.Props(ctx, store.CtrlPropsInstance)
		if err != nil {
			return nil, apicall.Failure(apicall.FailUnknownError, 0, apicall.MaskCtrlConf, "Failed to read the controller properties.", err.Error(), "")
		}
		return &struct{ Body map[string]string }{props}, nil
	})

	huma.Register(h, huma.Operation{
		OperationID:   "controllerPropertyModify",
		Method:        http.MethodPost,
		Path:          "/v1/controller/properties",
		Summary:       "set or delete controller properties",
		Tags:          []string{"developers"},
		DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct{ Body restapi.ControllerPropsModify }) (*rcOutput, error) {
		return s.modifyControllerProps(ctx, propsModify(in.Body.PropsModify))
	})

	huma.Register(h, huma.Operation{
		OperationID:   "controllerBackupDB",
		Method:        http.MethodPost,
		Path:          "/v1/controller/backup/db",
		Summary:       "create a database backup",
		Description:   "Writes a consistent copy of the embedded SQLite database into the controller's backup directory, as a workflow.",
		Tags:          []string{"developers"},
		DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *struct {
		OperationWaitParam
		Body DatabaseBackupRequest
	}) (*rcOutput, error) {
		return s.backupDB(ctx, in.Body.BackupName, in.wait(s.OperationWait))
	})
}

func (s *server) backupDB(ctx context.Context, name string, wait time.Duration) (*rcOutput, error) {
	const op, obj = apicall.MaskCrt, apicall.MaskCtrlConf
	if s.Store.Dialect != store.DialectSQLite {
		return nil, apicall.Failure(apicall.FailInvldRequest, op, obj,
			"Database backup works only with the embedded SQLite database.",
			"The controller uses an external "+s.Store.Dialect+" database.",
			"Back up PostgreSQL with its own tools, for example pg_dump.")
	}
	if !backupNameRE.MatchString(name) {
		return nil, apicall.Failure(apicall.FailInvldRequest, op, obj,
			fmt.Sprintf("Invalid backup name '%s'.", apicall.Clip(name)),
			"A backup name is a plain file name of 1 to 128 characters.",
			"Use letters, digits, '_', '-' and '.', starting with a letter, digit or '_'.")
	}
	if _, err := os.Stat(filepath.Join(s.BackupDir, name)); err == nil {
		return nil, apicall.Failure(apicall.FailInUse, op, obj,
			fmt.Sprintf("Database backup '%s' already exists.", name), "", "Choose another backup name.")
	}

	id := workflows.DatabaseBackupID(name)
	noteWorkflow(ctx, id)
	r, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                s.taskQueue(),
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, workflows.DatabaseBackup, name)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, apicall.Failure(apicall.FailInUse, op, obj,
			fmt.Sprintf("Database backup '%s' is already being written.", name), "Workflow "+id+" is running.", "Wait for it to finish.")
	}
	if err != nil {
		return nil, apicall.Failure(apicall.FailNotConnected, op, obj, "Failed to start the database backup.", err.Error(), "Check that Temporal is reachable (GET /health).")
	}
	return s.answer(ctx, operation{op: op, obj: obj, id: id, what: fmt.Sprintf("Database backup '%s'", name)}, r, wait)
}

func (s *server) modifyControllerProps(ctx context.Context, m store.PropsModify) (*rcOutput, error) {
	const op, obj = apicall.MaskMod, apicall.MaskCtrlConf
	if err := s.Store.ModifyControllerProps(ctx, m); err != nil {
		return nil, failure(err, op, obj, nil)
	}
	if err := s.propsChanged(ctx, m); err != nil {
		return nil, failure(err, op, obj, nil)
	}
	return success(apicall.Modified, op, obj, "Successfully set property.", "", nil), nil
}

// deleteControllerProperty serves DELETE /v1/controller/properties/{key},
// whose key holds slashes (LINSTOR's {key: .*}), on the router directly.
func (s *server) deleteControllerProperty(w http.ResponseWriter, r *http.Request) {
	key := chi.URLParam(r, "*")
	out, err := s.modifyControllerProps(r.Context(), store.PropsModify{DeleteProps: []string{key}})
	body, status := any(nil), http.StatusOK
	if err != nil {
		l := err.(apicall.RcList)
		body, status = l, l.GetStatus()
	} else {
		body = out.Body
	}
	writeJSON(w, status, body)
}
