package cli

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// readPassphrase asks for a passphrase that no flag gave: without echo on
// a terminal, else a line of standard input.
func readPassphrase(cmd *cobra.Command, prompt string) (string, error) {
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		fmt.Fprint(cmd.ErrOrStderr(), prompt+": ")
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(cmd.ErrOrStderr())
		return string(b), err
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && line == "" {
		return "", &exitError{exitUsage, prompt + ": none given (flag or standard input)"}
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func (a *app) encryptionCommand() *cobra.Command {
	c := &cobra.Command{Use: "encryption", Aliases: []string{"e"}, Short: "master passphrase commands"}
	const path = "/v1/encryption/passphrase"
	var passphrase, old string
	flag := func(cmd *cobra.Command, name string, v *string, usage string) {
		cmd.Flags().StringVar(v, name, "", usage+" (asked for when left out)")
	}
	ask := func(cmd *cobra.Command, v *string, name, prompt string) error {
		if cmd.Flags().Changed(name) {
			return nil
		}
		var err error
		*v, err = readPassphrase(cmd, prompt)
		return err
	}
	create := verb("create-passphrase", "create the master passphrase, which encrypts the secrets the controller keeps", nil, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		if err := ask(cmd, &passphrase, "passphrase", "Passphrase"); err != nil {
			return err
		}
		return a.write(cmd.Context(), http.MethodPost, path, map[string]string{"new_passphrase": passphrase})
	})
	flag(create, "passphrase", &passphrase, "the new passphrase")
	enter := verb("enter-passphrase", "enter the master passphrase after a controller start", nil, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		if err := ask(cmd, &passphrase, "passphrase", "Passphrase"); err != nil {
			return err
		}
		return a.write(cmd.Context(), http.MethodPatch, path, passphrase)
	})
	flag(enter, "passphrase", &passphrase, "the passphrase")
	modify := verb("modify-passphrase", "change the master passphrase", nil, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		if err := ask(cmd, &old, "old-passphrase", "Old passphrase"); err != nil {
			return err
		}
		if err := ask(cmd, &passphrase, "new-passphrase", "New passphrase"); err != nil {
			return err
		}
		return a.write(cmd.Context(), http.MethodPut, path, map[string]string{"new_passphrase": passphrase, "old_passphrase": old})
	})
	flag(modify, "old-passphrase", &old, "the passphrase now")
	flag(modify, "new-passphrase", &passphrase, "the new passphrase")
	status := verb("status", "show whether the master passphrase is set and entered", nil, cobra.NoArgs, func(cmd *cobra.Command, _ []string) error {
		var st struct {
			Status string `json:"status"`
		}
		raw, err := a.get(cmd.Context(), path, nil, &st)
		if err != nil {
			return err
		}
		return a.list(raw, []string{"Status"}, [][]string{{st.Status}})
	})
	c.AddCommand(create, enter, modify, status)
	return c
}
