package api

import (
	"fmt"
	"regexp"
	"strings"

	"strata/apicall"
)

// A nameRule is LINSTOR's check of one kind of name (Checks.nameCheck):
// length in bytes, the first character, the others, and at least one
// letter somewhere.
type nameRule struct {
	what     string
	min, max int
	re       *regexp.Regexp
	code     uint64
}

var (
	rscNameRule    = nameRule{"resource", 2, 48, regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`), apicall.FailInvldRscName}
	rgNameRule     = nameRule{"resource group", 2, 48, regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`), apicall.FailInvldRscGrpName}
	spNameRule     = nameRule{"storage pool", 3, 48, regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`), apicall.FailInvldStorPoolName}
	netIfNameRule  = nameRule{"net interface", 3, 32, regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`), apicall.FailInvldNetName}
	hostnameLabel  = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`)
	hasLetter      = regexp.MustCompile(`[A-Za-z]`)
	reservedRscDfn = map[string]bool{"ALL": true, "PROXY": true}
)

// check returns the apicall.ApiCallRc error for an invalid name, or nil.
func (r nameRule) check(name string, op, obj uint64) error {
	var why string
	switch {
	case len(name) < r.min || len(name) > r.max:
		why = fmt.Sprintf("A %s name has %d to %d characters.", r.what, r.min, r.max)
	case !r.re.MatchString(name):
		why = fmt.Sprintf("A %s name starts with a letter or '_' and has only letters, digits, '_' and '-'.", r.what)
	case !hasLetter.MatchString(name):
		why = fmt.Sprintf("A %s name contains at least one letter.", r.what)
	case r.code == apicall.FailInvldRscName && reservedRscDfn[strings.ToUpper(name)]:
		why = fmt.Sprintf("'%s' is a reserved word.", name)
	default:
		return nil
	}
	return invalid(r.code, op, obj, fmt.Sprintf("Invalid %s name '%s'.", r.what, apicall.Clip(name)), why, "Choose a valid name.")
}

// checkNodeName applies LINSTOR's host name rule (RFC 952/1123) to node
// names: 2 to 255 characters, dot-separated labels of letters, digits
// and '-', each up to 63 long.
func checkNodeName(name string, op, obj uint64) error {
	ok := len(name) >= 2 && len(name) <= 255
	for _, label := range strings.Split(name, ".") {
		ok = ok && len(label) <= 63 && hostnameLabel.MatchString(label)
	}
	if ok {
		return nil
	}
	return invalid(apicall.FailInvldNodeName, op, obj, fmt.Sprintf("Invalid node name '%s'.", apicall.Clip(name)),
		"A node name is a host name: 2 to 255 characters, dot-separated labels of letters, digits and '-' (not at either end of a label), each up to 63 long.",
		"Use the node's host name (uname -n).")
}
