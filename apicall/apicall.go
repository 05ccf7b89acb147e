// Package apicall is LINSTOR's answer to an API call: ApiCallRc entries,
// their lists, and the ret_code masks and codes with LINSTOR's numeric
// values (linstor-common's apiconsts), so that clients' bit tests keep
// working. The API, the workflows that carry out requests, the store's
// refusals and the CLI all speak it; it imports nothing of Strata's.
package apicall

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// Severity, operation and object masks of ret_code.
const (
	MaskError   uint64 = 0xC000000000000000
	MaskWarn    uint64 = 0x8000000000000000
	MaskInfo    uint64 = 0x4000000000000000
	MaskBitsOp  uint64 = 0x0000000003000000
	MaskBitsObj uint64 = 0x00000000007C0000
	MaskCode    uint64 = 0x0000000000007FFF

	MaskCrt uint64 = 0x01000000
	MaskMod uint64 = 0x02000000
	MaskDel uint64 = 0x03000000

	MaskCtrlConf    uint64 = 0x100000
	MaskStorPool    uint64 = 0x140000
	MaskStorPoolDfn uint64 = 0x180000
	MaskNetIf       uint64 = 0x1C0000
	MaskRscConn     uint64 = 0x240000
	MaskNodeConn    uint64 = 0x280000
	MaskVlm         uint64 = 0x2C0000
	MaskVlmDfn      uint64 = 0x300000
	MaskRsc         uint64 = 0x340000
	MaskRscDfn      uint64 = 0x380000
	MaskNode        uint64 = 0x3C0000
	MaskRscGrp      uint64 = 0x440000
	MaskVlmGrp      uint64 = 0x480000
	MaskSnapshot    uint64 = 0x0C0000
	MaskExtFiles    uint64 = 0x500000
	MaskRemote      uint64 = 0x040000
	MaskBackup      uint64 = 0x080000
	MaskSchedule    uint64 = 0x540000
)

// Success codes.
const (
	Created            uint64 = 1
	Deleted            uint64 = 2
	Modified           uint64 = 3
	PassphraseAccepted uint64 = 4
)

// LINSTOR's failure codes, with the error bits.
const (
	FailInvldNodeName                 = 200 | MaskError
	FailInvldNodeType                 = 201 | MaskError
	FailInvldRscName                  = 202 | MaskError
	FailInvldRscPort                  = 203 | MaskError
	FailInvldNodeID                   = 204 | MaskError
	FailInvldVlmNr                    = 205 | MaskError
	FailInvldVlmSize                  = 206 | MaskError
	FailInvldMinorNr                  = 207 | MaskError
	FailInvldStorPoolName             = 208 | MaskError
	FailInvldNetName                  = 209 | MaskError
	FailInvldNetAddr                  = 210 | MaskError
	FailInvldNetPort                  = 211 | MaskError
	FailInvldNetType                  = 212 | MaskError
	FailInvldProp                     = 213 | MaskError
	FailInvldKvsName                  = 223 | MaskError
	FailInvldDrbdProxyCompressionType = 222 | MaskError
	FailInvldExtFileName              = 235 | MaskError
	FailInvldExtFile                  = 236 | MaskError
	FailInvldLayerStack               = 225 | MaskError
	FailInvldProvider                 = 227 | MaskError
	FailInvldRequest                  = 234 | MaskError
	FailInvldRscGrpName               = 237 | MaskError
	FailInvldSnapshotName             = 218 | MaskError
	FailInvldCryptPassphrase          = 216 | MaskError
	FailInvldBackupConfig             = 238 | MaskError

	// FailNotFound and FailExists start LINSTOR's ranges of not-found and
	// already-exists codes, one per kind of object.
	FailNotFound = 300 | MaskError
	FailExists   = 500 | MaskError

	FailNotFoundSnapshotDfn    = 313 | MaskError
	FailNotFoundSnapshotVlmDfn = 314 | MaskError
	FailNotFoundSnapshot       = 315 | MaskError
	FailNotFoundKvs            = 316 | MaskError
	FailNotFoundExtFile        = 320 | MaskError
	FailExistsSnapshotDfn      = 514 | MaskError
	FailExistsCryptPassphrase  = 512 | MaskError
	FailExistsRemote           = 527 | MaskError
	FailNotFoundRemote         = 321 | MaskError
	FailNotFoundCryptKey       = 312 | MaskError
	FailInvldRemoteName        = 239 | MaskError
	FailMissingProps           = 600 | MaskError
	FailExistsSnapshotShipping = 525 | MaskError
	FailNotFoundBackup         = 322 | MaskError
	FailDependendBackup        = 977 | MaskError
	FailBackupUnknownCluster   = 976 | MaskError
	WarnBackupDlOnly           = 1019 | MaskWarn
	WarnNotEvacuating          = 1020 | MaskWarn
	WarnStltNotUpdated         = 1003 | MaskWarn
	FailExistsNodeConn         = 506 | MaskError
	FailInvldScheduleName      = 241 | MaskError
	FailNotFoundSchedule       = 323 | MaskError
	FailExistsSchedule         = 528 | MaskError

	FailSnapshotNotUpToDate      = 979 | MaskError
	FailSnapshotsNotSupported    = 994 | MaskError
	WarnNotFound                 = 3000 | MaskWarn
	InfoAbortedFailedRollback    = 10009 | MaskInfo
	InfoRecoveringFailedRollback = 10010 | MaskInfo

	FailPoolExhaustedVlmNr      = 800 | MaskError
	FailPoolExhaustedMinorNr    = 801 | MaskError
	FailPoolExhaustedTCPPort    = 802 | MaskError
	FailPoolExhaustedNodeID     = 803 | MaskError
	FailNotConnected            = 995 | MaskError
	FailNotEnoughNodes          = 996 | MaskError
	FailStltDoesNotSupportLayer = 988 | MaskError
	FailInUse                   = 997 | MaskError
	FailUnknownError            = 998 | MaskError
	FailSignIn                  = 10000 | MaskError
	FailSignInMissing           = 10001 | MaskError
	FailInvldEncryptType        = 217 | MaskError
	APICallParseError           = 0x0FFFFFFFFFFFFFFD | MaskError

	// WarnNotEnoughNodes is the size queries' warning that a filter finds
	// fewer pools than replicas.
	WarnNotEnoughNodes = 996 | MaskWarn
)

// Strata's own codes, in a range LINSTOR does not use.
const (
	// InfoOperationRunning: the API stopped waiting for a workflow that
	// goes on in the background.
	InfoOperationRunning = 19001 | MaskInfo
	// InfoDeployed: the change reached the nodes, by the workflow named in
	// the entry.
	InfoDeployed = 19002 | MaskInfo
	// WarnNodeNotReached: a node's agent could not be reached; the node
	// gets its state when it comes back.
	WarnNodeNotReached = 19003 | MaskWarn
	// InfoPlacement: a dry run's choice.
	InfoPlacement = 19004 | MaskInfo
	// InfoQuorum: what auto-quorum changed.
	InfoQuorum = 19005 | MaskInfo
	// FailOperationNotFound (in LINSTOR's not-found range): an operation id
	// that names no workflow.
	FailOperationNotFound = 399 | MaskError
)

// ApiCallRc is one entry of LINSTOR's answer to a write or a failed request.
// Empty fields are omitted, as LINSTOR's Jackson serialisation does.
type ApiCallRc struct {
	RetCode        int64             `json:"ret_code" doc:"A masked error number"`
	Message        string            `json:"message"`
	Cause          string            `json:"cause,omitempty"`
	Details        string            `json:"details,omitempty"`
	Correction     string            `json:"correction,omitempty"`
	ErrorReportIDs []string          `json:"error_report_ids,omitempty"`
	ObjRefs        map[string]string `json:"obj_refs,omitempty"`
	CreatedAt      string            `json:"created_at,omitempty"`
}

// timeFormat is LINSTOR's format of created_at.
const timeFormat = "2006-01-02T15:04:05.000-07:00"

// NewRc builds an entry; op and obj masks are OR-ed in the way LINSTOR's
// ResponseConverter adds an API call's context to its entries.
func NewRc(code, op, obj uint64, message string) ApiCallRc {
	if code&MaskBitsOp == 0 {
		code |= op
	}
	if code&MaskBitsObj == 0 {
		code |= obj
	}
	return ApiCallRc{
		RetCode:   int64(code),
		Message:   message,
		CreatedAt: time.Now().Format(timeFormat),
	}
}

// At stamps the entries with t as their creation time (a workflow
// building replies stamps them with its own clock, which replays the
// same).
func (l RcList) At(t time.Time) RcList {
	for i := range l {
		l[i].CreatedAt = t.Format(timeFormat)
	}
	return l
}

// IsError reports whether the entry carries both error bits.
func (rc ApiCallRc) IsError() bool { return uint64(rc.RetCode)&MaskError == MaskError }

// Bare is the entry's code without its operation and object bits: what
// it says, whatever it was said of (FailNotConnected, ...).
func (rc ApiCallRc) Bare() uint64 { return uint64(rc.RetCode) &^ (MaskBitsOp | MaskBitsObj) }

// Severity is the entry's word as LINSTOR's client prints it: ERROR,
// WARNING, INFO or SUCCESS.
func (rc ApiCallRc) Severity() string {
	switch uint64(rc.RetCode) & MaskError {
	case MaskError:
		return "ERROR"
	case MaskWarn:
		return "WARNING"
	case MaskInfo:
		return "INFO"
	}
	return "SUCCESS"
}

// RcList is the JSON array LINSTOR answers with. As an error it carries the
// HTTP status LINSTOR would pick for its first error entry.
type RcList []ApiCallRc

// Error returns the message of the first error entry.
func (l RcList) Error() string {
	for _, rc := range l {
		if rc.IsError() {
			return rc.Message
		}
	}
	if len(l) > 0 {
		return l[0].Message
	}
	return "unknown error"
}

// HasError reports whether any entry is an error.
func (l RcList) HasError() bool {
	for _, rc := range l {
		if rc.IsError() {
			return true
		}
	}
	return false
}

// GetStatus maps the first error entry to LINSTOR's HTTP status
// (ApiCallRcRestUtils.toResponse): not found 404, access denied 403,
// missing credentials 401, a parse error 400, everything else 500.
func (l RcList) GetStatus() int {
	for _, rc := range l {
		if !rc.IsError() {
			continue
		}
		code := uint64(rc.RetCode)
		switch bare := rc.Bare(); {
		case code == APICallParseError:
			return http.StatusBadRequest
		case bare == FailSignInMissing:
			return http.StatusUnauthorized
		case bare == FailSignIn:
			return http.StatusForbidden
		}
		switch c := code & MaskCode; {
		case c >= 300 && c < 400:
			return http.StatusNotFound
		case c >= 400 && c < 500:
			return http.StatusForbidden
		}
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

// ContentType keeps LINSTOR's plain application/json for error bodies
// (huma would otherwise answer application/problem+json).
func (l RcList) ContentType(string) string { return "application/json" }

// Failure returns a one-entry error list with cause and correction.
func Failure(code, op, obj uint64, message, cause, correction string) RcList {
	rc := NewRc(code|MaskError, op, obj, message)
	rc.Cause = cause
	rc.Correction = correction
	return RcList{rc}
}

// Refusal is an error that knows its LINSTOR answer: the store's
// refusals are.
type Refusal interface {
	error
	RetCode() uint64
	Explanation() (cause, correction string)
}

// Refused is a Refusal made of its parts, for packages that refuse
// requests without the store's kinds of objects.
type Refused struct {
	Code                       uint64
	Message, Cause, Correction string
}

func (r *Refused) Error() string                           { return r.Message }
func (r *Refused) RetCode() uint64                         { return r.Code }
func (r *Refused) Explanation() (cause, correction string) { return r.Cause, r.Correction }

// FromError turns an error into LINSTOR's error list: a Refusal gets its
// own code, anything else is an unknown error.
func FromError(err error, op, obj uint64, refs map[string]string) RcList {
	var r Refusal
	if !errors.As(err, &r) {
		l := Failure(FailUnknownError, op, obj, "The request failed.", err.Error(), "")
		l[0].ObjRefs = refs
		return l
	}
	cause, correction := r.Explanation()
	l := Failure(r.RetCode(), op, obj, r.Error(), cause, correction)
	l[0].ObjRefs = refs
	return l
}

// Success is a one-entry answer with LINSTOR's success message shapes:
// the object's UUID in the details and the references.
func Success(code, op, obj uint64, message, uuid string, refs map[string]string) RcList {
	rc := NewRc(code, op, obj, message)
	if uuid != "" {
		word := "is"
		if code == Deleted {
			word = "was"
		}
		rc.Details = objectWord(obj) + " UUID " + word + ": " + uuid
		if refs == nil {
			refs = map[string]string{}
		}
		refs["UUID"] = uuid
	}
	rc.ObjRefs = refs
	return RcList{rc}
}

func objectWord(obj uint64) string {
	if w, ok := objectWords[obj]; ok {
		return w
	}
	return "Object"
}

// objectWords name the objects of the object masks in success details.
var objectWords = map[uint64]string{
	MaskNode: "Node", MaskNetIf: "NetInterface", MaskStorPool: "Storage pool", MaskStorPoolDfn: "Storage pool definition",
	MaskRscGrp: "Resource group", MaskVlmGrp: "Volume group", MaskRscDfn: "Resource definition", MaskVlmDfn: "Volume definition",
	MaskRsc: "Resource", MaskVlm: "Volume", MaskNodeConn: "Node connection", MaskRscConn: "Resource connection",
}

// Clip shortens what a refusal quotes of the user's input to 80 bytes of
// valid UTF-8: a refusal of a 1 MiB name does not repeat it.
func Clip(s string) string {
	if len(s) <= 80 {
		return strings.ToValidUTF8(s, "?")
	}
	return strings.ToValidUTF8(s[:80], "?") + "…"
}
