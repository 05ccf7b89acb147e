package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"strata/agentlink"
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

// ControllerConfigLdap is LINSTOR's [ldap] as its ControllerConfig shows it.
type ControllerConfigLdap struct {
	Enabled             bool   `json:"enabled,omitempty"`
	PublicAccessAllowed bool   `json:"public_access_allowed,omitempty"`
	URI                 string `json:"uri,omitempty"`
	DN                  string `json:"dn,omitempty"`
	SearchBase          string `json:"search_base,omitempty"`
	SearchFilter        string `json:"search_filter,omitempty"`
}

// ControllerConfig is the part of LINSTOR's ControllerConfig that Strata
// shows, and changes at run time: its log level; its LDAP sign-in (shown
// only).
type ControllerConfig struct {
	Log  *ControllerConfigLog  `json:"log,omitempty"`
	Ldap *ControllerConfigLdap `json:"ldap,omitempty" readOnly:"true"`
}

// registerControllerConfig serves controller set-log-level (PUT
// /v1/controller/config) and the config's show. Strata has one log level
// (its own and its libraries'), so every level field sets it.
func (s *server) registerControllerConfig(h huma.API) {
	huma.Register(h, huma.Operation{OperationID: "ControllerConfig", Method: http.MethodGet, Path: "/v1/controller/config", Summary: "show the controller's run-time configuration", Tags: []string{"developers"}},
		func(context.Context, *struct{}) (*struct{ Body ControllerConfig }, error) {
			name := logLevelName(s.LogLevel.Level())
			out := ControllerConfig{Log: &ControllerConfigLog{Level: name, LevelLinstor: name}, Ldap: &ControllerConfigLdap{}}
			if s.LDAP != nil {
				c := s.LDAP.Config()
				out.Ldap = &ControllerConfigLdap{Enabled: true, PublicAccessAllowed: c.AllowPublicAccess, URI: c.URI, DN: c.DN, SearchBase: c.SearchBase, SearchFilter: c.SearchFilter}
			}
			return &struct{ Body ControllerConfig }{out}, nil
		})
	huma.Register(h, huma.Operation{OperationID: "CtrlSetConfig", Method: http.MethodPut, Path: "/v1/controller/config", Summary: "change the controller's run-time configuration (its log level)", Tags: []string{"developers"}},
		func(_ context.Context, in *struct{ Body ControllerConfig }) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskCtrlConf
			l := in.Body.Log
			if l == nil {
				return nil, invalid(apicall.FailInvldRequest, op, obj, "Nothing to change.", "Strata changes only the log level at run time.", "Give log.level.")
			}
			level, err := requestedLevel(op, obj, l.LevelLinstor, l.Level, l.LevelLinstorGlobal, l.LevelGlobal)
			if err != nil {
				return nil, err
			}
			s.LogLevel.Set(level)
			return success(apicall.Modified, op, obj, fmt.Sprintf("Log level of the controller set to %s.", logLevelName(level)), "", nil), nil
		})
	s.registerNodeConfig(h)
}

// requestedLevel is the first log level given of LINSTOR's fields.
func requestedLevel(op, obj uint64, fields ...string) (slog.Level, error) {
	var name string
	for _, v := range fields {
		if name == "" {
			name = v
		}
	}
	level, err := ParseLogLevel(name)
	if err != nil || name == "" {
		return 0, invalid(apicall.FailInvldRequest, op, obj, "No log level given.", "", "Give one of ERROR, WARN, INFO, DEBUG, TRACE.")
	}
	return level, nil
}

// SatelliteConfigLog is the log part of LINSTOR's SatelliteConfig.
type SatelliteConfigLog struct {
	Level        string `json:"level,omitempty" enum:"ERROR,WARN,INFO,DEBUG,TRACE"`
	LevelLinstor string `json:"level_linstor,omitempty" enum:"ERROR,WARN,INFO,DEBUG,TRACE"`
}

// SatelliteConfig is the part of LINSTOR's SatelliteConfig a node's agent
// shows and changes at run time: its log level.
type SatelliteConfig struct {
	Log *SatelliteConfigLog `json:"log,omitempty"`
}

// registerNodeConfig serves node set-log-level (PUT /v1/nodes/{node}/
// config) and the node's config: asked of its agent, 503 while it is not
// online.
func (s *server) registerNodeConfig(h huma.API) {
	ask := func(ctx context.Context, node string, set *slog.Level) (level slog.Level, err error) {
		err = s.askAgent(ctx, node, apicall.MaskMod, apicall.MaskNode, fmt.Sprintf("Could not reach satellite '%s'.", node),
			func(ctx context.Context, agents *agentlink.Link) (err error) {
				level, err = agents.LogLevel(ctx, node, set)
				return err
			})
		return level, err
	}
	huma.Register(h, developerOp("SatelliteConfig", http.MethodGet, "/v1/nodes/{node}/config", "show a node's run-time configuration"),
		func(ctx context.Context, in *NodePath) (*struct{ Body SatelliteConfig }, error) {
			level, err := ask(ctx, in.Node, nil)
			if err != nil {
				return nil, err
			}
			name := logLevelName(level)
			return &struct{ Body SatelliteConfig }{SatelliteConfig{Log: &SatelliteConfigLog{Level: name, LevelLinstor: name}}}, nil
		})
	huma.Register(h, developerOp("SatelliteSetConfig", http.MethodPut, "/v1/nodes/{node}/config", "change a node's run-time configuration (its log level)"),
		func(ctx context.Context, in *struct {
			NodePath
			Body SatelliteConfig
		}) (*rcOutput, error) {
			const op, obj = apicall.MaskMod, apicall.MaskNode
			if in.Body.Log == nil {
				return nil, invalid(apicall.FailInvldRequest, op, obj, "Nothing to change.", "Strata changes only the log level at run time.", "Give log.level.")
			}
			level, err := requestedLevel(op, obj, in.Body.Log.LevelLinstor, in.Body.Log.Level)
			if err != nil {
				return nil, err
			}
			if level, err = ask(ctx, in.Node, &level); err != nil {
				return nil, err
			}
			return success(apicall.Modified, op, obj, fmt.Sprintf("Log level of node '%s' set to %s.", in.Node, logLevelName(level)), "", map[string]string{"Node": in.Node}), nil
		})
}
