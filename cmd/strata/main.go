// strata is Strata's command-line client, with LINSTOR's command tree.
package main

import (
	"os"

	"strata/cli"
)

// Set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	os.Exit(cli.Execute(version, os.Args[1:], os.Stdout, os.Stderr))
}
