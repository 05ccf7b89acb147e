package api

import (
	"net/http"
	"time"
)

// ret_code bit masks and codes, with LINSTOR's numeric values
// (linstor-common consts.json), so that clients' bit tests keep working.
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

	MaskCtrlConf uint64 = 0x100000

	Created  uint64 = 1
	Deleted  uint64 = 2
	Modified uint64 = 3

	FailInvldRequest  = 234 | MaskError
	FailNotConnected  = 995 | MaskError
	FailInUse         = 997 | MaskError
	FailUnknownError  = 998 | MaskError
	FailSignIn        = 10000 | MaskError
	FailSignInMissing = 10001 | MaskError
	APICallParseError = 0x0FFFFFFFFFFFFFFD | MaskError

	// InfoOperationRunning is Strata's own code (LINSTOR has none): the
	// API stopped waiting for a workflow that goes on in the background.
	InfoOperationRunning = 19001 | MaskInfo
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
		CreatedAt: time.Now().Format("2006-01-02T15:04:05.000-07:00"),
	}
}

// IsError reports whether the entry carries both error bits.
func (rc ApiCallRc) IsError() bool { return uint64(rc.RetCode)&MaskError == MaskError }

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

// GetStatus maps the first error entry to LINSTOR's HTTP status
// (ApiCallRcRestUtils.toResponse): not found 404, access denied 403,
// missing credentials 401, a parse error 400, everything else 500.
func (l RcList) GetStatus() int {
	for _, rc := range l {
		if !rc.IsError() {
			continue
		}
		code := uint64(rc.RetCode)
		switch bare := code &^ (MaskBitsOp | MaskBitsObj); {
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
	rc := NewRc(code, op, obj, message)
	rc.Cause = cause
	rc.Correction = correction
	return RcList{rc}
}
