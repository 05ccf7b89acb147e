package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
)

// LevelTrace is LINSTOR's TRACE log level, below slog's DEBUG.
const LevelTrace = slog.LevelDebug - 4

// logLevels are LINSTOR's log levels, most severe first.
var logLevels = []struct {
	name  string
	level slog.Level
}{{"ERROR", slog.LevelError}, {"WARN", slog.LevelWarn}, {"INFO", slog.LevelInfo}, {"DEBUG", slog.LevelDebug}, {"TRACE", LevelTrace}}

// ParseLogLevel reads a LINSTOR log level ("" is INFO, WARNING is WARN).
func ParseLogLevel(s string) (slog.Level, error) {
	switch u := strings.ToUpper(s); u {
	case "":
		return slog.LevelInfo, nil
	case "WARNING":
		return slog.LevelWarn, nil
	default:
		for _, l := range logLevels {
			if l.name == u {
				return l.level, nil
			}
		}
	}
	return 0, fmt.Errorf("invalid log level %q: use ERROR, WARN, INFO, DEBUG or TRACE", s)
}

func logLevelName(level slog.Level) string {
	for _, l := range logLevels {
		if level >= l.level {
			return l.name
		}
	}
	return "TRACE"
}

// ControllerConfigLog is the log part of LINSTOR's ControllerConfig.
type ControllerConfigLog struct {
	Level              string `json:"level,omitempty" enum:"ERROR,WARN,INFO,DEBUG,TRACE"`
	LevelGlobal        string `json:"level_global,omitempty" enum:"ERROR,WARN,INFO,DEBUG,TRACE"`
	LevelLinstor       string `json:"level_linstor,omitempty" enum:"ERROR,WARN,INFO,DEBUG,TRACE"`
	LevelLinstorGlobal string `json:"level_linstor_global,omitempty" enum:"ERROR,WARN,INFO,DEBUG,TRACE"`
}

// ControllerConfig is the part of LINSTOR's ControllerConfig that Strata
// shows and changes at run time: its log level.
type ControllerConfig struct {
	Log *ControllerConfigLog `json:"log,omitempty"`
}

// registerControllerConfig serves controller set-log-level (PUT
// /v1/controller/config) and the config's show. Strata has one log level
// (its own and its libraries'), so every level field sets it.
func (s *server) registerControllerConfig(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "ControllerConfig", Method: http.MethodGet, Path: "/v1/controller/config", Summary: "show the controller's run-time configuration", Tags: []string{"developers"}},
		func(context.Context, *struct{}) (*struct{ Body ControllerConfig }, error) {
			name := logLevelName(s.LogLevel.Level())
			return &struct{ Body ControllerConfig }{ControllerConfig{Log: &ControllerConfigLog{Level: name, LevelLinstor: name}}}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "CtrlSetConfig", Method: http.MethodPut, Path: "/v1/controller/config", Summary: "change the controller's run-time configuration (its log level)", Tags: []string{"developers"}},
		func(_ context.Context, in *struct{ Body ControllerConfig }) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskCtrlConf
			l := in.Body.Log
			if l == nil {
				return nil, invalid(apicall.FailInvldRequest, op, obj, "Nothing to change.", "Strata changes only the log level at run time.", "Give log.level.")
			}
			var name string
			for _, v := range []string{l.LevelLinstor, l.Level, l.LevelLinstorGlobal, l.LevelGlobal} {
				if name == "" {
					name = v
				}
			}
			level, err := ParseLogLevel(name)
			if err != nil || name == "" {
				return nil, invalid(apicall.FailInvldRequest, op, obj, "No log level given.", "", "Give one of ERROR, WARN, INFO, DEBUG, TRACE.")
			}
			s.LogLevel.Set(level)
			return success(apicall.Modified, op, obj, fmt.Sprintf("Log level of the controller set to %s.", logLevelName(level)), "", nil), nil
		})
}
