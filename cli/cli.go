// Package cli is Strata's command-line client: LINSTOR's command tree,
// flags and abbreviations (`strata n l` is `linstor n l`), its tables and
// its way of printing the controller's replies.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// app is what every command uses: the connection and the output.
type app struct {
	conn   connection
	out    output
	noUTF8 bool
	noCol  bool
}

// Execute runs the client with args and returns the exit code.
func Execute(version string, args []string, stdout, stderr io.Writer) int {
	a := &app{}
	root := a.rootCommand(version, stdout)
	if cmd, _, err := root.Find(args); err == nil {
		args = expandMultiValue(cmd, args)
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	var ee *exitError
	switch {
	case err == nil || errors.Is(err, errCurl):
		return exitOK
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(stderr, "ERROR:", ee.msg)
		}
		return ee.code
	default: // cobra's own complaints: unknown command or flag, arguments
		fmt.Fprintln(stderr, "ERROR:", err)
		fmt.Fprintln(stderr, "Usage:", cmd.UseLine())
		return exitUsage
	}
}

func (a *app) rootCommand(version string, stdout io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "strata",
		Short:         "Strata command-line client, with LINSTOR's command tree",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			a.conn.out, a.out.w = stdout, stdout
			a.out.utf8 = !a.noUTF8
			f, isFile := stdout.(*os.File)
			a.out.color = !a.noCol && os.Getenv("NO_COLOR") == "" && isFile && term.IsTerminal(int(f.Fd()))
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.conn.controllers, "controllers", defaultControllers(), "comma-separated controller addresses (env LS_CONTROLLERS, or [global] controllers= in linstor-client.conf)")
	pf.BoolVarP(&a.out.machine, "machine-readable", "m", false, "print the controller's JSON")
	pf.BoolVar(&a.noUTF8, "no-utf8", false, "draw tables in ASCII")
	pf.BoolVar(&a.noCol, "no-color", false, "no colours (also off when the output is not a terminal)")
	pf.DurationVarP(&a.conn.timeout, "timeout", "t", 300*time.Second, "timeout of each REST call")
	pf.BoolVar(&a.conn.curl, "curl", false, "print the REST call as a curl command instead of making it")
	pf.StringVar(&a.conn.certFile, "certfile", "", "client certificate (PEM) for HTTPS")
	pf.StringVar(&a.conn.keyFile, "keyfile", "", "key of the client certificate (PEM)")
	pf.StringVar(&a.conn.caFile, "cafile", "", "CA certificate (PEM) to verify the controller")
	pf.StringVarP(&a.conn.user, "user", "u", "", "user name for the controller")
	pf.StringVar(&a.conn.password, "password", os.Getenv("LS_PASSWORD"), "password for the controller (env LS_PASSWORD; asked for when --user comes without it)")
	pf.BoolVar(&a.conn.insecureAuth, "allow-insecure-auth", false, "send --user's password over plain HTTP")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return err })

	root.AddCommand(a.controllerCommand(), a.nodeCommand(), a.nodeConnectionCommand(), a.storagePoolCommand(), a.storagePoolDefinitionCommand(), a.physicalStorageCommand(),
		a.resourceGroupCommand(), a.volumeGroupCommand(), a.resourceDefinitionCommand(), a.volumeDefinitionCommand(),
		a.resourceCommand(), a.resourceConnectionCommand(), a.snapshotCommand(), a.encryptionCommand(), a.remoteCommand(), a.backupCommand(), a.scheduleCommand(), a.errorReportsCommand(), a.keyValueStoreCommand(), a.fileCommand(), a.drbdProxyCommand(), a.spaceReportingCommand(), a.sosReportCommand())
	a.completeNames(root)
	return root
}

// get fetches a GET answer into out (and the raw JSON). A refusal is
// printed as LINSTOR's replies and fails the command.
func (a *app) get(ctx context.Context, path string, query url.Values, out any) ([]byte, error) {
	return a.query(ctx, http.MethodGet, path, query, nil, out)
}

// query is get for the queries LINSTOR answers to other methods.
func (a *app) query(ctx context.Context, method, path string, query url.Values, in, out any) ([]byte, error) {
	status, body, err := a.conn.do(ctx, method, path, query, in)
	if err != nil {
		return nil, err
	}
	if status >= 300 {
		if rerr := a.out.replies(body); rerr != nil {
			return nil, rerr
		}
		return nil, &exitError{exitAPIError, fmt.Sprintf("%s answered %d", path, status)}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return nil, &exitError{exitUnknown, fmt.Sprintf("unexpected answer to %s %s: %v", method, path, err)}
		}
	}
	return body, nil
}

// write sends a change and prints the controller's replies.
func (a *app) write(ctx context.Context, method, path string, body any) error {
	_, out, err := a.conn.do(ctx, method, path, nil, body)
	if err != nil {
		return err
	}
	return a.out.replies(out)
}

// list prints raw with -m, else the table rows builds.
func (a *app) list(raw []byte, headers []string, rows [][]string) error {
	if a.out.machine {
		return a.out.json(raw)
	}
	return a.out.table(headers, rows)
}

// verb builds a sub-command with LINSTOR's aliases for it.
func verb(use, short string, aliases []string, args cobra.PositionalArgs, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Aliases: aliases, Args: args, RunE: run}
}

// Sub-verb aliases of LINSTOR's client.
var (
	aliasList      = []string{"l", "ls"}
	aliasCreate    = []string{"c"}
	aliasDelete    = []string{"d"}
	aliasModify    = []string{"m"}
	aliasSetProp   = []string{"sp"}
	aliasListProps = []string{"lp"}
	aliasShow      = []string{"s"}
)

// pathEscape joins path segments, each escaped.
func pathEscape(parts ...string) string {
	escaped := make([]string, len(parts))
	for i, p := range parts {
		escaped[i] = url.PathEscape(p)
	}
	return strings.Join(escaped, "/")
}

// expandMultiValue gives list flags LINSTOR's argparse form, several
// values after one flag (`-n alpha bravo`), by repeating the flag before
// each further value, which is the form cobra reads.
func expandMultiValue(cmd *cobra.Command, args []string) []string {
	var out []string
	flag, seen := "", 0 // the list flag being read, and how many values it has had
	for i, tok := range args {
		if tok == "--" {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(tok, "-") && len(tok) > 1 {
			flag, seen = listFlag(cmd, tok), 0
			out = append(out, tok)
			continue
		}
		if flag != "" {
			if seen > 0 {
				out = append(out, flag)
			}
			seen++
		}
		out = append(out, tok)
	}
	return out
}

// listFlag is the long form of tok when it names a list flag of cmd
// without a value attached.
func listFlag(cmd *cobra.Command, tok string) string {
	if strings.Contains(tok, "=") {
		return ""
	}
	var f *pflag.Flag
	if name, long := strings.CutPrefix(tok, "--"); long {
		f = cmd.Flags().Lookup(name)
	} else if len(tok) == 2 {
		f = cmd.Flags().ShorthandLookup(tok[1:])
	}
	if f == nil || (f.Value.Type() != "stringSlice" && f.Value.Type() != "stringArray") {
		return ""
	}
	return "--" + f.Name
}
