package api

import (
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"strata/apicall"
	"strata/restapi"
	"strata/store"
)

// failure turns an error into LINSTOR's ApiCallRc error list: a store
// refusal gets its LINSTOR code, anything else is an unknown error.
func failure(err error, op, obj uint64, refs map[string]string) error {
	return apicall.FromError(err, op, obj, refs)
}

// notFoundOnly is the answer of a GET of one missing object: LINSTOR's
// not-found code without operation and object bits.
func notFoundOnly(err error) error {
	if e, ok := store.AsError(err); ok && e.Problem == store.NotFound {
		return apicall.RcList{apicall.NewRc(e.RetCode(), 0, 0, e.Message)}
	}
	return failure(err, 0, 0, nil)
}

// missing is notFoundOnly's answer for an object of kind.
func missing(kind store.Kind, format string, args ...any) error {
	return notFoundOnly(store.NotFoundError(kind, format, args...))
}

// success is a one-entry answer with LINSTOR's success message shapes.
func success(code, op, obj uint64, message, uuid string, refs map[string]string) *rcOutput {
	return &rcOutput{apicall.Success(code, op, obj, message, uuid, refs)}
}

// invalid is a refusal of bad input, changing nothing.
func invalid(code, op, obj uint64, message, cause, correction string) error {
	return apicall.Failure(code, op, obj, message, cause, correction)
}

func propsModify(m restapi.PropsModify) store.PropsModify {
	return store.PropsModify{OverrideProps: m.OverrideProps, DeleteProps: m.DeleteProps, DeleteNamespaces: m.DeleteNamespaces}
}

// upperEnum checks value against allowed case-insensitively and returns
// the canonical spelling.
func upperEnum(value string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(value, a) {
			return a, true
		}
	}
	return "", false
}

// stateReport is the error an agent reported for an object, naming its
// error report.
func stateReport(obj uint64, message, reportID string) apicall.ApiCallRc {
	rc := apicall.NewRc(apicall.FailUnknownError, 0, obj, message)
	if reportID != "" {
		rc.ErrorReportIDs = []string{reportID}
	}
	return rc
}

// developerOp is an operation of LINSTOR's "developers" API.
func developerOp(id, method, path, summary string) huma.Operation {
	return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"developers"}}
}
