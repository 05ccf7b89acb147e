package apicall

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// The composed ret_codes are the decimal numbers LINSTOR puts on the wire.
func TestNewRcComposesLikeLinstor(t *testing.T) {
	const maskNode, maskRscDfn = 0x3C0000, 0x380000
	tests := []struct {
		name          string
		code, op, obj uint64
		want          int64
	}{
		{"node created", Created, MaskCrt, maskNode, 20709377},
		{"rd modified", Modified, MaskMod, maskRscDfn, 37224451},
		{"node deleted", Deleted, MaskDel, maskNode, 54263810},
		{"node exists", 500 | MaskError, MaskCrt, maskNode, -4611686018406678028},
		{"invalid rsc name", 202 | MaskError, MaskCrt, maskRscDfn, -4611686018406940470},
		{"op and obj already set are kept", 500 | MaskError | MaskCrt | maskNode, MaskDel, maskRscDfn, -4611686018406678028},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, NewRc(tt.code, tt.op, tt.obj, "m").RetCode)
		})
	}
}

func TestRcListStatus(t *testing.T) {
	tests := []struct {
		name string
		code uint64
		want int
	}{
		{"success", Created, http.StatusOK},
		{"info only", InfoOperationRunning, http.StatusOK},
		{"warning only", 1002 | MaskWarn, http.StatusOK},
		{"not found node", 300 | MaskError, http.StatusNotFound},
		{"access denied", 400 | MaskError, http.StatusForbidden},
		{"sign in failed", FailSignIn, http.StatusForbidden},
		{"missing credentials", FailSignInMissing, http.StatusUnauthorized},
		{"parse error", APICallParseError, http.StatusBadRequest},
		{"already exists", 500 | MaskError, http.StatusInternalServerError},
		{"invalid input", FailInvldRequest, http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := RcList{NewRc(Created, MaskCrt, MaskCtrlConf, "first"), NewRc(tt.code, MaskCrt, MaskCtrlConf, "second")}
			require.Equal(t, tt.want, l.GetStatus())
		})
	}
}

func TestRcListErrorNamesFirstError(t *testing.T) {
	l := RcList{NewRc(Created, 0, 0, "fine"), NewRc(FailInUse, 0, 0, "busy"), NewRc(FailUnknownError, 0, 0, "later")}
	require.Equal(t, "busy", l.Error())
	require.Equal(t, "application/json", l.ContentType("application/problem+json"))
}
